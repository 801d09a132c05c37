module shadowproxy

go 1.26.8
