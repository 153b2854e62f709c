//! The pretty text of a document, the canonical form shown and edited: serde_json's pretty
//! layout (two spaces a level), its indentation capped at [`INDENTED_LEVELS`] levels.
//! Uncapped, a document within every limit (1 MiB compact, 61 levels of arrays around 520,000
//! zeros) was 66 MB indented, and the screen took ~690 MB to open its editor (bb31 U13);
//! levels deeper than the cap are laid out at its indentation, as the diff view already cut
//! them.
//!
//! Made from serde_json's compact form, the one a document is kept in, without parsing it:
//! making a value tree of 1 MiB of it and printing it again took ~10 ms of every opening of
//! the editor. The compact form has no layout outside strings, so its pretty form is the same
//! tokens with the line breaks and indents the pretty printer puts between them — which is
//! all this adds.

/// The levels of nesting that indent further; deeper ones keep this indentation (32 spaces).
pub const INDENTED_LEVELS: usize = 16;

/// The canonical text of `compact`, serde_json's compact form of an object (so the layout
/// takes it whole; were it not, it would be shown as it is, unindented).
pub fn laid_out(compact: &str) -> String {
    pretty_from_compact(compact).unwrap_or_else(|| compact.to_owned())
}

/// The pretty text of `compact`, serde_json's compact form of an object: serde_json's pretty
/// printer's to [`INDENTED_LEVELS`] levels. `None` for any other text (layout outside
/// a string, brackets that do not pair, not one object, a cut string or escape): the caller
/// parses that instead. Tokens between the brackets are copied, not checked: callers first
/// prove the text is that form (`user_json::is_serde_compact_object`).
pub fn pretty_from_compact(compact: &str) -> Option<String> {
    let bytes = compact.as_bytes();
    if bytes.first() != Some(&b'{') {
        return None;
    }
    // Pretty text is longer by its line breaks and indents: a guess that saves regrowing.
    let mut out = Vec::with_capacity(compact.len() + compact.len() / 2);
    // The closing bracket each open one waits for.
    let mut open: Vec<u8> = Vec::new();
    let mut at = 0;
    // Until the object's closing bracket, which ends the loop: nothing may follow it.
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b'"' => {
                out.push(b'"');
                at += 1;
                // A string's body up to its closing quote, escapes copied as they are.
                loop {
                    let run = memchr::memchr2(b'"', b'\\', &bytes[at..])?;
                    out.extend_from_slice(&bytes[at..at + run]);
                    at += run;
                    if bytes[at] == b'"' {
                        out.push(b'"');
                        at += 1;
                        break;
                    }
                    out.extend_from_slice(bytes.get(at..at + 2)?);
                    at += 2;
                }
                continue;
            }
            b'{' | b'[' => {
                let close = if byte == b'{' { b'}' } else { b']' };
                out.push(byte);
                if bytes.get(at + 1) == Some(&close) {
                    // serde_json prints an empty object or array as `{}` / `[]`.
                    out.push(close);
                    at += 2;
                    if open.is_empty() {
                        return finished(out, at == bytes.len());
                    }
                    continue;
                }
                open.push(close);
                line_break(&mut out, open.len());
            }
            b'}' | b']' => {
                if open.pop() != Some(byte) {
                    return None;
                }
                line_break(&mut out, open.len());
                out.push(byte);
                if open.is_empty() {
                    return finished(out, at + 1 == bytes.len());
                }
            }
            b',' => {
                out.push(b',');
                line_break(&mut out, open.len());
            }
            b':' => out.extend_from_slice(b": "),
            b' ' | b'\t' | b'\n' | b'\r' => return None,
            _ => out.push(byte),
        }
        at += 1;
    }
    // The text ended inside the object.
    None
}

/// The laid-out text, when the object was all there was.
fn finished(mut out: Vec<u8>, at_the_end: bool) -> Option<String> {
    if !at_the_end {
        return None;
    }
    // The guess above is short for deep documents (indents grow with depth), and the vector
    // doubled: 100 MB held for a 71 MB pretty form.
    out.shrink_to_fit();
    String::from_utf8(out).ok()
}

fn line_break(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    out.resize(out.len() + 2 * depth.min(INDENTED_LEVELS), b' ');
}

#[cfg(test)]
mod tests {
    use super::pretty_from_compact;
    use crate::domain::custom_data::{canonical_text, parse_object};

    fn parsed_and_printed(compact: &str) -> String {
        canonical_text(&parse_object(compact).expect("an object"))
    }

    /// serde_json's own pretty printer: the layout to match up to 16 levels.
    fn printed_by_serde(compact: &str) -> String {
        serde_json::to_string_pretty(&parse_object(compact).expect("an object")).expect("printed")
    }

    #[test]
    fn serde_jsons_compact_form_is_laid_out_as_its_pretty_printer_does() {
        for compact in [
            "{}",
            r#"{"a":1}"#,
            r#"{"a":{},"b":[],"c":[1,[2,{}],{"d":null}],"e":"x,y:{z}[\"\\"}"#,
            r#"{"n":-0.0e0,"m":1E5,"big":123456789012345678901234567890,"t":true,"f":false}"#,
            r#"{"ü":"東京 \u001b ☕","":"","k":"\\"}"#,
        ] {
            assert_eq!(
                pretty_from_compact(compact).as_deref(),
                Some(printed_by_serde(compact).as_str()),
                "{compact}"
            );
            assert_eq!(parsed_and_printed(compact), printed_by_serde(compact), "{compact}");
        }
    }

    /// Deep documents outgrow the first guess at the pretty size (indents grow with depth):
    /// what is handed back holds no room beyond its text (it is kept while an editor is open).
    #[test]
    fn the_pretty_form_of_a_deep_document_holds_no_spare_room() {
        let compact = format!("{{\"a\":{}0{}}}", "[".repeat(60), "]".repeat(60));
        let pretty = pretty_from_compact(&compact).expect("serde's compact form");
        assert_eq!(pretty, parsed_and_printed(&compact));
        assert!(pretty.len() > 2 * compact.len(), "outgrew the guess: {}", pretty.len());
        assert_eq!(pretty.capacity(), pretty.len());
    }

    /// Up to 16 levels the layout is serde_json's pretty printer's, byte for byte; deeper
    /// levels keep 32 spaces (a deep document within every limit was 66 MB indented: bb31 U13).
    #[test]
    fn indentation_is_serde_jsons_to_sixteen_levels_and_stays_there_deeper() {
        for depth in [1, 15, 16] {
            let compact = format!("{{\"a\":{}0{}}}", "[".repeat(depth - 1), "]".repeat(depth - 1));
            let object = parse_object(&compact).expect("an object");
            let serde = serde_json::to_string_pretty(&object).expect("printed");
            assert_eq!(canonical_text(&object), serde, "depth {depth}");
            assert_eq!(pretty_from_compact(&compact).as_deref(), Some(serde.as_str()), "depth {depth}");
        }
        let compact = format!("{{\"a\":{}0,1{}}}", "[".repeat(60), "]".repeat(60));
        let pretty = pretty_from_compact(&compact).expect("serde's compact form");
        assert_eq!(pretty, parsed_and_printed(&compact));
        let deepest = pretty.lines().map(|line| line.len() - line.trim_start().len()).max();
        assert_eq!(deepest, Some(32));
        assert!(pretty.contains(&format!("\n{}0,\n{}1\n", " ".repeat(32), " ".repeat(32))), "{pretty}");
        // The same document, read back.
        assert_eq!(parse_object(&pretty).expect("valid"), parse_object(&compact).expect("valid"));
    }

    #[test]
    fn other_text_is_left_to_the_parser() {
        for text in [
            "",
            "[]",
            "\"a\"",
            "{} ",
            "{}{}",
            r#"{"a": 1}"#,
            "{\n\"a\":1}",
            r#"{"a":[1}"#,
            r#"{"a":1]"#,
            r#"{"a":1"#,
            r#"{"a"#,
            r#"{"a\"#,
            r#"{"a":1},"#,
            r#"{"a":1,,"b":2}"#.replace(",,", ", ").as_str(),
        ] {
            assert_eq!(pretty_from_compact(text), None, "{text:?}");
        }
    }
}
