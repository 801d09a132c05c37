// Generates testdata/credentials/vectors.json: Passport stamps issued by @spruceid/didkit-wasm-node
// (the build the Passport IAM signs with), tampered and hand-made variants, and didkit's own
// verdict for each. Deterministic: keys come from fixed seeds and every date is fixed.
//
//   node generate.js OUTPUT.json      (make vectors)
//   node generate.js --verify         (internal: verify the credential on stdin, print didkit's answer)
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const { spawnSync } = require('child_process');
const DIDKit = require('@spruceid/didkit-wasm-node');

const VERIFY_OPTIONS = '{"proofPurpose":"assertionMethod"}';
const SUBJECT = '0x8ea987b3d09c582ef572a453e6680fd036457d45';
const N = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');

if (process.argv[2] === '--verify') {
  const input = fs.readFileSync(0, 'utf8');
  DIDKit.verifyCredential(input, VERIFY_OPTIONS).then(
    (out) => process.stdout.write(out),
    (err) => process.stdout.write(JSON.stringify({ checks: [], warnings: [], errors: [String(err)] })),
  );
  return;
}

const b64u = (b) => Buffer.from(b).toString('base64url');

function secpKey(seed) {
  const d = crypto.createHash('sha256').update(seed).digest();
  const ecdh = crypto.createECDH('secp256k1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey();
  return { kty: 'EC', crv: 'secp256k1', x: b64u(pub.subarray(1, 33)), y: b64u(pub.subarray(33)), d: b64u(d) };
}

const NULLIFIER_TYPES = {
  EIP712Domain: [{ name: 'name', type: 'string' }],
  Document: [
    { name: '@context', type: 'string[]' }, { name: 'credentialSubject', type: 'CredentialSubject' },
    { name: 'expirationDate', type: 'string' }, { name: 'issuanceDate', type: 'string' },
    { name: 'issuer', type: 'string' }, { name: 'proof', type: 'Proof' }, { name: 'type', type: 'string[]' },
  ],
  '@context': [{ name: 'nullifiers', type: 'NullifiersContext' }, { name: 'provider', type: 'string' }],
  CredentialSubject: [
    { name: '@context', type: '@context' }, { name: 'nullifiers', type: 'string[]' },
    { name: 'id', type: 'string' }, { name: 'provider', type: 'string' },
  ],
  NullifiersContext: [{ name: '@container', type: 'string' }, { name: '@type', type: 'string' }],
  Proof: [
    { name: '@context', type: 'string' }, { name: 'created', type: 'string' }, { name: 'proofPurpose', type: 'string' },
    { name: 'type', type: 'string' }, { name: 'verificationMethod', type: 'string' },
  ],
};

// The legacy ("hash") format the IAM used before rotating keys.
const LEGACY_TYPES = {
  ...NULLIFIER_TYPES,
  '@context': [{ name: 'hash', type: 'string' }, { name: 'provider', type: 'string' }],
  CredentialSubject: [
    { name: '@context', type: '@context' }, { name: 'hash', type: 'string' },
    { name: 'id', type: 'string' }, { name: 'provider', type: 'string' },
  ],
};
delete LEGACY_TYPES.NullifiersContext;

function document({ issuer, provider = 'Google', nullifiers, hash, issued = '2025-06-01T12:00:00.123Z', expires = '2099-08-30T12:00:00.123Z' }) {
  const subject = { id: 'did:pkh:eip155:1:' + SUBJECT, provider };
  if (hash !== undefined) {
    subject.hash = hash;
    subject['@context'] = { hash: 'https://schema.org/Text', provider: 'https://schema.org/Text' };
  } else {
    subject.nullifiers = nullifiers || ['v0.0.0:TVSJI7f67DKdc5wl8xexfKmpXVfa4ReLgW1YRN2ounY='];
    subject['@context'] = { nullifiers: { '@container': '@list', '@type': 'https://schema.org/Text' }, provider: 'https://schema.org/Text' };
  }
  const doc = {
    '@context': ['https://www.w3.org/2018/credentials/v1', 'https://w3id.org/vc/status-list/2021/v1'],
    type: ['VerifiableCredential'],
    credentialSubject: subject,
    issuer,
    issuanceDate: issued,
  };
  if (expires !== null) doc.expirationDate = expires;
  return doc;
}

// did:ethr with the key's compressed public key in place of its address, which didkit resolves
// to #controller (the key's address) and #controllerKey (the key).
function publicKeyDID(key, { network, upperCase = false } = {}) {
  const y = Buffer.from(key.y, 'base64url');
  const hex = Buffer.concat([Buffer.from([2 + (y[31] & 1)]), Buffer.from(key.x, 'base64url')]).toString('hex');
  return 'did:ethr:' + (network ? network + ':' : '') + '0x' + (upperCase ? hex.toUpperCase() : hex);
}

// issue signs with key; vm defaults to didkit's own method for the key's address DID.
async function issue(key, doc, { types = NULLIFIER_TYPES, created = '2025-06-01T12:00:00.130Z', proofPurpose, vm } = {}) {
  vm = vm || await DIDKit.keyToVerificationMethod('ethr', JSON.stringify(key));
  const options = {
    type: 'EthereumEip712Signature2021', verificationMethod: vm, created,
    eip712Domain: { domain: { name: 'VerifiableCredential' }, primaryType: 'Document', types },
  };
  if (proofPurpose) options.proofPurpose = proofPurpose;
  return JSON.parse(await DIDKit.issueCredential(JSON.stringify(doc), JSON.stringify(options), JSON.stringify(key)));
}

function didkitVerdict(raw) {
  const run = spawnSync(process.execPath, [__filename, '--verify'], { input: raw, encoding: 'utf8' });
  if (run.status !== 0 || !run.stdout) {
    return { valid: false, crashed: true, errors: ['didkit-wasm crashed: ' + (run.stderr || '').split('\n').find((l) => l.includes('Error')) ] };
  }
  const out = JSON.parse(run.stdout);
  return { valid: out.errors.length === 0, errors: out.errors };
}

const clone = (v) => JSON.parse(JSON.stringify(v));

function withProofValue(vc, f) {
  const out = clone(vc);
  out.proof.proofValue = f(out.proof.proofValue);
  return out;
}

function highS(pv) {
  const hex = pv.slice(2);
  const r = hex.slice(0, 64);
  const s = BigInt('0x' + hex.slice(64, 128));
  const v = parseInt(hex.slice(128, 130), 16);
  return '0x' + r + (N - s).toString(16).padStart(64, '0') + (v === 27 ? 28 : 27).toString(16);
}

async function main() {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node generate.js OUTPUT.json');
  const trusted = secpKey('shadowproxy-vectors-trusted-iam');
  const other = secpKey('shadowproxy-vectors-other-key');
  const trustedDID = DIDKit.keyToDID('ethr', JSON.stringify(trusted));
  const otherDID = DIDKit.keyToDID('ethr', JSON.stringify(other));
  const vectors = [];
  // strict: the Go verifier's verdict when it deliberately differs from didkit (null: same).
  // scorer: whether the scorer keeps the stamp (trusted issuer, subject SUBJECT, at 2026-06-01).
  const add = (name, description, credential, { strict = null, scorer } = {}) => {
    const raw = typeof credential === 'string' ? credential : JSON.stringify(credential);
    const didkit = didkitVerdict(raw);
    const strictValid = strict === null ? didkit.valid : strict;
    vectors.push({
      name, description, raw, didkit,
      strict: { valid: strictValid, differs_from_didkit: strict !== null && strict !== didkit.valid },
      scorer: { valid: scorer === undefined ? strictValid : scorer },
    });
  };

  const base = await issue(trusted, document({ issuer: trustedDID }));
  add('base', 'production nullifiers format, issued by the trusted IAM key', base);
  add('base-other-issuer', 'correctly signed by a key the scorer does not trust',
    await issue(other, document({ issuer: otherDID })), { scorer: false });
  add('legacy-hash', 'legacy hash format (string hash in place of nullifiers)',
    await issue(trusted, document({ issuer: trustedDID, hash: 'v0.0.0:legacyhash=' }), { types: LEGACY_TYPES }));
  add('multi-nullifier', 'three nullifiers', await issue(trusted, document({ issuer: trustedDID, nullifiers: ['v0.0.0:a', 'v1:b', 'v2:c'] })));
  add('empty-nullifiers', 'empty nullifier list: signed correctly, refused by the scorer',
    await issue(trusted, document({ issuer: trustedDID, nullifiers: [] })), { scorer: false });
  add('unicode-provider', 'non-ASCII provider and nullifier', await issue(trusted, document({ issuer: trustedDID, provider: 'Ünïcode✓', nullifiers: ['v0:ñ😀'] })));
  const zeroMillis = await issue(trusted, document({ issuer: trustedDID, issued: '2025-06-01T12:00:00.000Z', expires: '2099-08-30T12:00:00.000Z' }), { created: '2025-06-01T12:00:01.000Z' });
  add('zero-fraction', 'dates with a zero fraction, as didkit prints them (fraction dropped)', zeroMillis);
  add('zero-fraction-reserialised', 'the same credential with ".000Z" written back: didkit re-serialises dates before hashing',
    (() => { const v = clone(zeroMillis); v.issuanceDate = v.issuanceDate.replace('Z', '.000Z'); v.expirationDate = v.expirationDate.replace('Z', '.000Z'); v.proof.created = v.proof.created.replace('Z', '.000Z'); return v; })());
  add('offset-dates', 'dates signed with a +02:00 offset', await issue(trusted, document({ issuer: trustedDID, issued: '2025-06-01T14:00:00.123+02:00', expires: '2099-08-30T14:00:00.123+02:00' })));
  add('expired', 'correctly signed but expired before the scorer time: didkit does not check expiry',
    await issue(trusted, document({ issuer: trustedDID, expires: '2025-12-01T00:00:00.000Z' })), { scorer: false });
  const noExpiry = await issue(trusted, document({ issuer: trustedDID, expires: null }));
  add('missing-typed-member', 'signed without expirationDate although the types declare it (hashed as zeros); the scorer cannot read its expiry',
    noExpiry, { scorer: false });
  add('missing-typed-member-null', 'the same with "expirationDate": null, which ssi drops before hashing',
    { ...clone(noExpiry), expirationDate: null }, { scorer: false });
  add('signed-for-authentication', 'signed with proofPurpose authentication: no applicable proof for assertionMethod',
    await issue(trusted, document({ issuer: trustedDID }), { proofPurpose: 'authentication' }));
  add('created-in-future', 'proof.created in 2099: not applicable yet',
    await issue(trusted, document({ issuer: trustedDID }), { created: '2099-01-01T00:00:00.000Z' }));

  const tamper = (name, description, f, opts) => { const v = clone(base); f(v); add(name, description, v, opts); };
  tamper('tampered-provider', 'provider changed after signing', (v) => { v.credentialSubject.provider = 'Ens'; });
  tamper('tampered-nullifier', 'nullifier changed after signing', (v) => { v.credentialSubject.nullifiers[0] = 'v0.0.0:forged'; });
  tamper('tampered-nullifier-added', 'nullifier appended after signing', (v) => { v.credentialSubject.nullifiers.push('v1:forged'); });
  tamper('tampered-expiration', 'expirationDate moved after signing', (v) => { v.expirationDate = '2199-08-30T12:00:00.123Z'; });
  tamper('tampered-expiration-offset', 'expirationDate rewritten as +00:00 (same instant, different text hashed)', (v) => { v.expirationDate = '2099-08-30T12:00:00.123+00:00'; });
  tamper('tampered-issuance', 'issuanceDate changed after signing', (v) => { v.issuanceDate = '2025-06-02T12:00:00.123Z'; });
  tamper('tampered-subject', 'subject DID changed after signing', (v) => { v.credentialSubject.id = 'did:pkh:eip155:1:0x1111111111111111111111111111111111111111'; }, { scorer: false });
  tamper('tampered-context', 'credential @context changed', (v) => { v['@context'][1] = 'https://example.com/ctx'; });
  tamper('tampered-context-first', 'first @context entry is not the VC context', (v) => { v['@context'][0] = 'https://example.com/ctx'; });
  tamper('tampered-type', 'type extended after signing', (v) => { v.type.push('PassportStamp'); });
  tamper('type-without-vc', 'type without VerifiableCredential', (v) => { v.type = ['Stamp']; });
  tamper('issuer-swapped', 'issuer and verificationMethod swapped to another DID after signing (wrong key)', (v) => { v.issuer = otherDID; v.proof.verificationMethod = otherDID + '#controller'; });
  tamper('issuer-only-swapped', 'issuer swapped, verificationMethod left: no applicable proof', (v) => { v.issuer = otherDID; });
  tamper('untyped-top-level', 'an untyped top-level member', (v) => { v.extra = 'x'; });
  tamper('untyped-subject-hash', 'a forged credentialSubject.hash, untyped in the nullifiers format', (v) => { v.credentialSubject.hash = 'v0.0.0:forged'; });
  tamper('untyped-proof-nonce', 'an untyped proof.nonce', (v) => { v.proof.nonce = '1'; });
  tamper('proof-purpose-changed', 'proofPurpose changed to authentication after signing', (v) => { v.proof.proofPurpose = 'authentication'; });
  tamper('vm-eip712method', 'verificationMethod pointing at #Eip712Method2021', (v) => { v.proof.verificationMethod = trustedDID + '#Eip712Method2021'; });
  tamper('types-renamed', 'a type of eip712Domain renamed', (v) => { v.proof.eip712Domain.types.Proof[1].name = 'createdAt'; });
  tamper('eip712-unknown-key', 'an unknown key in eip712Domain', (v) => { v.proof.eip712Domain.extra = 1; });
  tamper('missing-issuance-date', 'issuanceDate removed', (v) => { delete v.issuanceDate; });
  tamper('missing-proof-value', 'proofValue removed', (v) => { delete v.proof.proofValue; });
  tamper('missing-created', 'proof.created removed: no applicable proof', (v) => { delete v.proof.created; });
  tamper('proof-ed25519-type', 'proof type switched to Ed25519Signature2018 (legacy did:key stamps)', (v) => { v.proof.type = 'Ed25519Signature2018'; });

  add('proof-value-bitflip', 'one bit of the signature flipped', withProofValue(base, (pv) => pv.slice(0, 10) + (pv[10] === '0' ? '1' : '0') + pv.slice(11)));
  add('proof-value-uppercase', 'proofValue in upper-case hex: didkit accepts, strict mode refuses', withProofValue(base, (pv) => '0x' + pv.slice(2).toUpperCase()), { strict: false });
  add('proof-value-v01', 'v written as 0/1 instead of 27/28: didkit accepts, strict mode refuses',
    withProofValue(base, (pv) => pv.slice(0, 130) + (parseInt(pv.slice(130), 16) - 27).toString(16).padStart(2, '0')), { strict: false });
  add('proof-value-high-s', 'the high-S twin of the signature: didkit-wasm accepts, strict mode refuses', withProofValue(base, highS), { strict: false });
  add('proof-value-trailing', 'trailing bytes after v: didkit ignores them, strict mode refuses', withProofValue(base, (pv) => pv + '00'), { strict: false });
  add('proof-value-truncated', 'proofValue one byte short: didkit-wasm panics, strict mode refuses', withProofValue(base, (pv) => pv.slice(0, 130)), { strict: false });
  add('proof-value-no-0x', 'proofValue without 0x', withProofValue(base, (pv) => pv.slice(2)));
  add('proof-array-single', 'the proof wrapped in an array: didkit accepts, strict mode refuses a proof array',
    (() => { const v = clone(base); v.proof = [v.proof]; return v; })(), { strict: false });
  add('proof-array-bad-first', 'two proofs, the first one tampered: the first applicable proof decides',
    (() => { const v = clone(base); const bad = withProofValue(base, (pv) => pv.slice(0, 10) + (pv[10] === '0' ? '1' : '0') + pv.slice(11)).proof; v.proof = [bad, v.proof]; return v; })());
  add('duplicate-key', 'a duplicated JSON key: this didkit keeps the last one, strict mode refuses (jsonb never stores duplicates)',
    JSON.stringify(base).replace('"provider":"Google"', '"provider":"Ens","provider":"Google"'), { strict: false });
  add('not-an-object', 'a JSON string instead of a credential', '"credential"');

  const edSeed = crypto.createHash('sha256').update('shadowproxy-vectors-legacy-ed25519').digest();
  const edKey = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), edSeed]), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  const edDID = DIDKit.keyToDID('key', JSON.stringify(edKey));
  const edVM = await DIDKit.keyToVerificationMethod('key', JSON.stringify(edKey));
  const edDoc = { ...document({ issuer: edDID }), '@context': ['https://www.w3.org/2018/credentials/v1'] };
  edDoc.credentialSubject['@context'] = { provider: 'https://schema.org/provider', nullifiers: { '@id': 'https://schema.org/identifier', '@container': '@list' } };
  const legacy = JSON.parse(await DIDKit.issueCredential(JSON.stringify(edDoc), JSON.stringify({ type: 'Ed25519Signature2018', verificationMethod: edVM, created: '2025-01-01T00:00:00Z', proofPurpose: 'assertionMethod' }), JSON.stringify(edKey)));
  add('legacy-ed25519', 'a legacy Ed25519Signature2018 stamp from a did:key issuer: didkit accepts, shadowproxy refuses the suite', legacy, { strict: false });

  // Public-key DIDs. The trusted key's compressed form starts with 0x03, the "even" key's with 0x02.
  const even = secpKey('shadowproxy-vectors-pubkey-even');
  const trustedKeyDID = publicKeyDID(trusted);
  const evenKeyDID = publicKeyDID(even);
  const issueAs = (key, did, fragment) => issue(key, document({ issuer: did }), { vm: did + fragment });
  const pkController = await issueAs(trusted, trustedKeyDID, '#controller');
  add('pubkey-did-03-controller', 'issuer did:ethr:0x03… (the trusted key as a compressed public key), #controller: the recovered address must be the key\'s',
    pkController);
  add('pubkey-did-03-controller-key', 'the same DID with #controllerKey: the recovered key must be the DID\'s key',
    await issueAs(trusted, trustedKeyDID, '#controllerKey'));
  add('pubkey-did-02-controller', 'issuer did:ethr:0x02… (another key), #controller: correctly signed, not trusted',
    await issueAs(even, evenKeyDID, '#controller'), { scorer: false });
  add('pubkey-did-02-controller-key', 'issuer did:ethr:0x02…, #controllerKey: correctly signed, not trusted',
    await issueAs(even, evenKeyDID, '#controllerKey'), { scorer: false });
  // didkit checks only the public half of the JWK against the DID; it signs with d. So a JWK with
  // the trusted key's x and y and the other key's d makes didkit sign for the trusted DID with the other key.
  const impostor = { ...trusted, d: other.d };
  add('pubkey-did-mismatch-controller', 'issuer did:ethr:0x03… (trusted), #controller, signed by another key',
    await issueAs(impostor, trustedKeyDID, '#controller'));
  add('pubkey-did-mismatch-controller-key', 'issuer did:ethr:0x03… (trusted), #controllerKey, signed by another key',
    await issueAs(impostor, trustedKeyDID, '#controllerKey'));
  add('pubkey-did-uppercase-hex', 'the trusted key\'s public-key DID in upper-case hex: didkit resolves it; trust is an exact string, so the scorer refuses it',
    await issueAs(trusted, publicKeyDID(trusted, { upperCase: true }), '#controller'), { scorer: false });
  add('pubkey-did-network-hex', 'did:ethr:0x5:0x03… (chain id 5), #controller: not a trusted string',
    await issueAs(trusted, publicKeyDID(trusted, { network: '0x5' }), '#controller'), { scorer: false });
  add('pubkey-did-network-name', 'did:ethr:goerli:0x03…, #controllerKey: not a trusted string',
    await issueAs(trusted, publicKeyDID(trusted, { network: 'goerli' }), '#controllerKey'), { scorer: false });
  add('pubkey-did-vm-eip712method', 'a public-key DID\'s proof pointing at #Eip712Method2021, which only address DIDs have: no applicable proof',
    (() => { const v = clone(pkController); v.proof.verificationMethod = trustedKeyDID + '#Eip712Method2021'; return v; })());
  tamper('vm-controller-key-on-address-did', 'an address DID\'s proof pointing at #controllerKey, which only public-key DIDs have: no applicable proof',
    (v) => { v.proof.verificationMethod = trustedDID + '#controllerKey'; });
  add('address-did-signed-chain-id', 'did:ethr:0x-1:<address>: did-ethr reads the chain id with i64::from_str_radix, which takes a sign',
    await issueAs(trusted, trustedDID.replace('did:ethr:', 'did:ethr:0x-1:'), '#controller'), { scorer: false });

  const doc = {
    generator: `@spruceid/didkit-wasm-node 0.2.1 (getVersion ${DIDKit.getVersion()})`,
    verify_options: VERIFY_OPTIONS,
    note: 'raw is the credential text as given to didkit; didkit is its verdict at generation time; strict is the Go verifier\'s expected verdict; scorer is whether the scorer keeps the stamp for the subject below, trusting trusted_issuers (TRUSTED_IAM_ISSUERS), at scorer_time.',
    subject: 'did:pkh:eip155:1:' + SUBJECT,
    trusted_issuers: [trustedDID, trustedKeyDID],
    other_issuer: otherDID,
    scorer_time: '2026-06-01T00:00:00Z',
    vectors,
  };
  fs.writeFileSync(out, JSON.stringify(doc, null, 1) + '\n');
  console.log(`${vectors.length} vectors written to ${out}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
