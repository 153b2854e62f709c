//! Random-looking values that are public by what they are (bb17 L04, L05): public keys, a
//! Bitcoin address, the public ids of a landing URL. And what looks like them but is not.

use super::*;

#[test]
fn public_keys_and_a_bitcoin_address_are_no_tokens() {
    for (key, text) in [
        (
            "sshKey",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
        ),
        (
            "sshKey",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vbqajDhA7Z2SHq8n0sCGUh2SGsUyvKr4QzFm1mBdE3Xc user@host",
        ),
        ("publicKey", "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="),
        ("wallet", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        ("wallet", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
    ] {
        assert_eq!(findings(json!({key: text})), [""; 0], "{text}");
    }
}

#[test]
fn what_only_looks_like_a_public_key_or_an_address_is_still_a_token() {
    for text in [
        // An address with one character changed: its checksum fails.
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
        // A PKCS#8 private key (Ed25519) begins `MC4CAQAw`, no public key's header.
        "MC4CAQAwBQYDK2VwBCIEIFq7zX2v9mB4cD8eF1gH3jK5lM7nP9qR2sT4uV6wX8yZ",
        // `AAAA` and base64 that is no SSH key type.
        "AAAAB3NvbWV0aGluZy1lbHNlAAAAAwEAAQAAAQEAx7Kp2Qm9Vw4Zt8Ry",
    ] {
        assert_eq!(
            findings(json!({"value": text})),
            ["value (value looks like a random key or token)"],
            "{text}"
        );
    }
}

#[test]
fn a_landing_urls_click_ids_and_playlist_are_public_and_a_token_parameter_is_not() {
    for url in [
        "https://example.com/pricing?utm_source=facebook&fbclid=IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgE",
        "https://example.com/?gclid=EAIaIQobChMIv7ejw6eQ-wIVxAeICR0Y5wYlEAAYASAAEgJYdvD_BwE",
        "https://www.youtube.com/playlist?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
        "https://example.com/?UTM_CONTENT=q8ZrKx2mW9vTb4nPq7LsYd3Hf6Jc1Ng5Rk0Ua8",
        // Every image URL Unsplash's API returns (bb67 F3).
        "https://images.unsplash.com/photo-1417325384643-aac51acc9e5d?crop=entropy&cs=tinysrgb&fit=max&fm=jpg&ixid=M3w1NDI0NzR8MHwxfHNlYXJjaHwxfHxuYXR1cmV8ZW58MHx8fHwxNzE0NDA1OTM5fDA&ixlib=rb-4.0.3&q=80&w=1080",
    ] {
        assert_eq!(findings(json!({"landing": url})), [""; 0], "{url}");
    }
    for url in [
        "https://example.com/?ref=q8ZrKx2mW9vTb4nPq7LsYd3Hf6Jc1Ng5Rk0Ua8",
        "https://example.com/?fbclid=x&access_token=q8ZrKx2mW9vTb4nPq7LsYd3Hf6Jc1Ng5Rk0Ua8",
    ] {
        assert_eq!(
            findings(json!({"landing": url})),
            ["landing (value is a URL with a token in it)"],
            "{url}"
        );
    }
}
