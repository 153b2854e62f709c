// The Node side of tests/seal.rs: what a backend using `jose` does with custodian's values.
//
//   node jose_interop.mjs decrypt KEY_FILE  < token       prints the plaintext
//   node jose_interop.mjs encrypt KEY_FILE  < plaintext   prints a dir + A256GCM JWE
//
// KEY_FILE is custodian's key file (a JWK, or a JWK Set whose kid picks the key). `jose` is
// found in $JOSE_NODE_MODULES (scripts/jose-interop-env installs it).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(join(process.env.JOSE_NODE_MODULES, 'resolve-from-here.js'));
const jose = await import(require.resolve('jose'));

const [mode, keyFile] = process.argv.slice(2);
const data = JSON.parse(readFileSync(keyFile, 'utf8'));
const keys = data.keys ?? [data];
const input = readFileSync(0, 'utf8');

if (mode === 'decrypt') {
  // The kid in the protected header picks the key, as a backend with a rotation would.
  const { plaintext } = await jose.compactDecrypt(input.trim(), async (header) => {
    const jwk = keys.find((k) => k.kid === header.kid);
    if (!jwk) throw new Error(`no key with kid ${header.kid}`);
    return jose.importJWK(jwk, 'dir');
  });
  process.stdout.write(new TextDecoder().decode(plaintext));
} else if (mode === 'encrypt') {
  const key = await jose.importJWK(keys[0], 'dir');
  const token = await new jose.CompactEncrypt(new TextEncoder().encode(input))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: keys[0].kid })
    .encrypt(key);
  process.stdout.write(token);
} else {
  throw new Error(`unknown mode ${mode}`);
}
