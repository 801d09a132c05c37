package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// initErrorType is the Lambda-Runtime-Function-Error-Type of a failed start.
const initErrorType = "Runtime.InitError"

// reportInitError posts a failed start to the Runtime API's init error path (runtimeAPI is
// AWS_LAMBDA_RUNTIME_API), as a custom runtime must before it exits, so that Lambda records
// the reason rather than only "exit status 1". Best effort: the process exits either way.
func reportInitError(runtimeAPI string, cause error) error {
	if runtimeAPI == "" {
		return nil // not under Lambda (a local run)
	}
	body, _ := json.Marshal(map[string]any{"errorMessage": cause.Error(), "errorType": initErrorType, "stackTrace": []string{}})
	req, err := http.NewRequest(http.MethodPost, "http://"+runtimeAPI+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("init error request: %w", err)
	}
	req.Header.Set("Lambda-Runtime-Function-Error-Type", initErrorType)
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("report the init error: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("report the init error: %s", resp.Status)
	}
	return nil
}
