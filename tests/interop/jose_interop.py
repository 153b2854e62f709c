"""The Python side of tests/seal.rs: what a backend using joserfc does with custodian's values.

    python jose_interop.py decrypt KEY_FILE   < token       prints the plaintext
    python jose_interop.py encrypt KEY_FILE   < plaintext   prints a dir + A256GCM JWE

KEY_FILE is custodian's key file (a JWK, or a JWK Set whose kid picks the key).
"""
import json
import sys

from joserfc import jwe
from joserfc.jwk import KeySet, OctKey


def main() -> None:
    mode, key_file = sys.argv[1], sys.argv[2]
    with open(key_file) as f:
        data = json.load(f)
    text = sys.stdin.read()
    if mode == "decrypt":
        keys = KeySet.import_key_set(data) if "keys" in data else OctKey.import_key(data)
        sys.stdout.write(jwe.decrypt_compact(text.strip(), keys).plaintext.decode("utf-8"))
    elif mode == "encrypt":
        jwk = data["keys"][0] if "keys" in data else data
        key = OctKey.import_key(jwk)
        header = {"alg": "dir", "enc": "A256GCM", "kid": jwk["kid"]}
        sys.stdout.write(jwe.encrypt_compact(header, text.encode("utf-8"), key))
    else:
        sys.exit(f"unknown mode {mode}")


main()
