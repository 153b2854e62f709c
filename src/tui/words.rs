//! The `:` command line's arguments read as a shell reads words: quotes group (`"my
//! file.jsonl"`, `'x'`), a backslash escapes, and a leading `~` is the home directory. An
//! operator who types `:export "x.jsonl"` means the file `x.jsonl`, not one named with quotes.

/// The words of `text`, or why it cannot be read (an unclosed quote, a trailing backslash).
/// `home` replaces a `~` that starts an unquoted word followed by `/` or nothing.
pub fn split(text: &str, home: Option<&str>) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                words.extend(word.take());
            }
            '~' if word.is_none() && chars.peek().is_none_or(|&next| next == '/' || next.is_whitespace()) => {
                word = Some(home.map_or_else(|| "~".to_owned(), str::to_owned));
            }
            '\'' => {
                let word = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a ' quote is not closed".to_owned()),
                    }
                }
            }
            '"' => {
                let word = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        // Inside double quotes a backslash escapes only what the shell lets it.
                        Some('\\') => match chars.next() {
                            Some(next @ ('"' | '\\' | '$' | '`')) => word.push(next),
                            Some(next) => {
                                word.push('\\');
                                word.push(next);
                            }
                            None => return Err("a \" quote is not closed".to_owned()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a \" quote is not closed".to_owned()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(next) => word.get_or_insert_with(String::new).push(next),
                None => return Err("a backslash ends the line".to_owned()),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    fn words(text: &str) -> Vec<String> {
        split(text, Some("/home/ops")).expect("readable")
    }

    #[test]
    fn quotes_group_and_are_not_part_of_the_word() {
        assert_eq!(words(r#""x.jsonl""#), ["x.jsonl"]);
        assert_eq!(words("'my users.jsonl'"), ["my users.jsonl"]);
        assert_eq!(words(r#"a"b c"d e"#), ["ab cd", "e"]);
        assert_eq!(words(r#""""#), [""]);
    }

    #[test]
    fn a_backslash_escapes_outside_quotes_and_only_some_characters_inside_double_quotes() {
        assert_eq!(words(r"my\ file"), ["my file"]);
        assert_eq!(words(r#""a\"b\\c\d""#), [r#"a"b\c\d"#]);
        assert_eq!(words(r"'a\b'"), [r"a\b"]);
    }

    #[test]
    fn a_leading_tilde_is_the_home_directory_and_only_there() {
        assert_eq!(words("~/x.jsonl"), ["/home/ops/x.jsonl"]);
        assert_eq!(words("~"), ["/home/ops"]);
        assert_eq!(words("'~/x'"), ["~/x"]);
        assert_eq!(words("a~/x"), ["a~/x"]);
        assert_eq!(words("~bob/x"), ["~bob/x"]);
        assert_eq!(split("~/x", None).expect("readable"), ["~/x"]);
    }

    #[test]
    fn an_unclosed_quote_or_a_trailing_backslash_is_refused() {
        assert_eq!(split("'x", None), Err("a ' quote is not closed".to_owned()));
        assert_eq!(split("\"x", None), Err("a \" quote is not closed".to_owned()));
        assert_eq!(split("x\\", None), Err("a backslash ends the line".to_owned()));
    }

    #[test]
    fn white_space_separates_words_and_is_not_one() {
        assert_eq!(words("  a \t b  "), ["a", "b"]);
        assert!(words("   ").is_empty());
    }
}
