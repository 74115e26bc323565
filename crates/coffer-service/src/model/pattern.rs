//! `pattern` constraints: the models' regexes are written for Java's `java.util.regex` (AWS
//! validates with it), so they are translated to the `regex` crate's dialect before compiling.
//!
//! What differs and matters for these models:
//! * `\w`, `\d`, `\s` (and their negations) are ASCII-only in Java but Unicode-aware in Rust: an
//!   IAM user name `josé` must fail `[\w+=,.@-]+` as it does on AWS, so they become ASCII classes.
//! * `.` in Java excludes every line terminator (`\n`, `\r`, U+0085, U+2028, U+2029), Rust's only
//!   `\n`; translated unless the pattern turns on DOTALL with `(?s)`.
//! * `\uD800\uDC00`-style escaped surrogate pairs mean one supplementary code point in Java; Rust
//!   rejects surrogates, so a pair becomes `\x{10000}`.
//! * Lookarounds and backreferences have no equivalent. A leading negative lookahead `^(?!A)B`
//!   is emulated with a second regex; other such patterns fail to compile and are skipped
//!   (recorded in [`Pattern::regex`] being `None`; a test lists them).
//!
//! Models leave patterns unanchored but AWS matches the whole value (Java `Matcher.matches()`),
//! so every pattern is wrapped in `^(?:...)$`.

use regex::Regex;

/// A model `pattern` with its compiled form (cloning shares the compiled regexes).
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    /// The model's text, verbatim: AWS quotes it in "Member must satisfy regular expression
    /// pattern: ..." messages.
    pub source: Box<str>,
    /// `None` when the pattern uses Java constructs the `regex` crate cannot express (or it
    /// compiles to something too large); the constraint is then not enforced.
    pub regex: Option<Regex>,
    /// For `^(?!A)B`: a value must match `B` and must NOT start with a match of `A`.
    reject: Option<Regex>,
}

impl Pattern {
    pub(super) fn compile(source: &str) -> Pattern {
        let compiled = match split_leading_lookahead(source) {
            // SSM's "not blank" idiom `^(?!\s*$).+` is the one lookahead worth supporting; a
            // leading negative lookahead is exactly a second, rejecting, regex.
            Some((rejected, rest)) => build(rest, "$")
                .zip(build(rejected, ""))
                .map(|(regex, reject)| (regex, Some(reject))),
            None => build(source, "$").map(|regex| (regex, None)),
        };
        let (regex, reject) = compiled.unzip();
        Pattern {
            source: source.into(),
            regex,
            reject: reject.flatten(),
        }
    }

    /// Whether `value` satisfies the pattern; `true` if the pattern could not be compiled.
    pub(super) fn matches(&self, value: &str) -> bool {
        self.regex.as_ref().is_none_or(|re| re.is_match(value))
            && !self.reject.as_ref().is_some_and(|re| re.is_match(value))
    }
}

/// Compiles a Java pattern anchored at the start, and at the end when `end` is `$`.
fn build(java: &str, end: &str) -> Option<Regex> {
    let translated = translate(java)?;
    regex::RegexBuilder::new(&format!("^(?:{translated}){end}"))
        // Enough for every pattern these models use (SSM's `.{1,2000}` needs over 1 MiB).
        .size_limit(4 << 20)
        .build()
        .ok()
}

/// `^(?!A)B` -> `(A, B)`; `None` for any other pattern.
fn split_leading_lookahead(source: &str) -> Option<(&str, &str)> {
    let inner = source.strip_prefix("^(?!")?;
    let mut depth = 0usize;
    let mut in_class = false;
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class && depth > 0 => depth -= 1,
            ')' if !in_class => return Some((&inner[..i], &inner[i + 1..])),
            _ => {}
        }
    }
    None
}

/// Java's `.` without DOTALL: anything but a line terminator.
const JAVA_DOT: &str = r"[^\n\r\x{85}\x{2028}\x{2029}]";

/// The largest counted repetition (`{n,m}`) compiled.
const MAX_REPETITION: u32 = 10_000;

/// Rewrites a Java regex into the `regex` crate's syntax; `None` if it cannot be expressed.
fn translate(java: &str) -> Option<String> {
    let dotall = java.contains("(?s)");
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::with_capacity(java.len() + 16);
    // Depth of `[...]` nesting (Java allows nested classes, and so does the regex crate).
    let mut class_depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let next = *chars.get(i + 1)?;
                i += 2;
                let in_class = class_depth > 0;
                match next {
                    'u' => {
                        let (code, used) = java_unicode_escape(&chars[i..])?;
                        i += used;
                        out.push_str(&format!("\\x{{{code:X}}}"));
                    }
                    'w' => out.push_str(ascii_class("word", false, in_class)),
                    'W' => out.push_str(ascii_class("word", true, in_class)),
                    'd' => out.push_str(ascii_class("digit", false, in_class)),
                    'D' => out.push_str(ascii_class("digit", true, in_class)),
                    's' => out.push_str(ascii_class("space", false, in_class)),
                    'S' => out.push_str(ascii_class("space", true, in_class)),
                    // Backreferences: no equivalent in the regex crate.
                    '1'..='9' => return None,
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
                continue;
            }
            // Counted repetitions beyond this compile to automata over the size limit (SSM's
            // `^.{1,100000}$`); refuse them up front instead of spending ~50 ms finding out.
            '{' if class_depth == 0 => {
                let bound: String = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || **c == ',')
                    .collect();
                if bound
                    .split(',')
                    .any(|n| n.parse::<u32>().is_ok_and(|n| n > MAX_REPETITION))
                {
                    return None;
                }
            }
            '[' => class_depth += 1,
            ']' if class_depth > 0 => class_depth -= 1,
            '.' if class_depth == 0 && !dotall => {
                out.push_str(JAVA_DOT);
                i += 1;
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    Some(out)
}

/// `\uXXXX` (the `\u` already consumed): returns the code point and the number of chars used,
/// combining an escaped surrogate pair `\uD83D\uDE00` into one code point as Java does.
fn java_unicode_escape(rest: &[char]) -> Option<(u32, usize)> {
    let hex4 = |s: &[char]| -> Option<u32> {
        if s.len() < 4 || !s[..4].iter().all(char::is_ascii_hexdigit) {
            return None;
        }
        let text: String = s[..4].iter().collect();
        u32::from_str_radix(&text, 16).ok()
    };
    let high = hex4(rest)?;
    let low = rest
        .get(6..)
        .filter(|_| rest.get(4..6) == Some(&['\\', 'u'][..]))
        .and_then(hex4)
        .filter(|low| (0xDC00..0xE000).contains(low));
    if let Some(low) = low.filter(|_| (0xD800..0xDC00).contains(&high)) {
        return Some((0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), 10));
    }
    // A lone surrogate stays a surrogate and makes the regex fail to compile (as it should: no
    // Rust string can contain one).
    Some((high, 4))
}

/// The ASCII-only POSIX class the regex crate offers for Java's `\w`/`\d`/`\s` family.
fn ascii_class(name: &str, negated: bool, in_class: bool) -> &'static str {
    match (name, negated, in_class) {
        ("word", false, true) => "[:word:]",
        ("word", true, true) => "[:^word:]",
        ("digit", false, true) => "[:digit:]",
        ("digit", true, true) => "[:^digit:]",
        ("space", false, true) => "[:space:]",
        ("space", true, true) => "[:^space:]",
        ("word", false, false) => "[[:word:]]",
        ("word", true, false) => "[[:^word:]]",
        ("digit", false, false) => "[[:digit:]]",
        ("digit", true, false) => "[[:^digit:]]",
        ("space", false, false) => "[[:space:]]",
        _ => "[[:^space:]]",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_is_java_flavoured() {
        let p = Pattern::compile(r"[\w+=,.@-]+");
        assert!(p.matches("alice.bob@x"));
        assert!(!p.matches("josé"), "\\w is ASCII-only in Java");
        assert!(!p.matches("bad name"), "patterns match the whole value");

        let p = Pattern::compile(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*");
        assert!(p.regex.is_some(), "surrogate pairs combine");
        assert!(p.matches("emoji \u{1F600} ok"));
        assert!(!p.matches("bell \u{7}"));

        let p = Pattern::compile("^.+$");
        assert!(!p.matches("a\rb"), "Java's dot excludes \\r");
        let p = Pattern::compile("(?s).*");
        assert!(p.matches("a\r\nb"));

        let not_blank = Pattern::compile(r"^(?!\s*$).+");
        assert!(not_blank.matches(" x "));
        assert!(!not_blank.matches("   "));
        assert!(!not_blank.matches(""));
        assert!(Pattern::compile(r"^[a-z]([a-z]|-(?!-))+$").regex.is_none());
        assert!(Pattern::compile(r"(a)\1").regex.is_none());
        assert!(Pattern::compile(r"^[a-zA-Z0-9-_.]+$").matches("a-b_c.d"));
    }
}
