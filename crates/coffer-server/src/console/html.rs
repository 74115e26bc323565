//! Building HTML safely: [`Html`] escapes every dynamic string; markup can be added only as
//! `&'static str`, so nothing received or stored can become markup. No template engine: the
//! pages are small, and this type makes escaping the only way in.

use std::fmt::Write as _;

/// An HTML document under construction.
#[derive(Debug, Default)]
pub struct Html {
    buf: String,
}

/// Escape text for element content and quoted attribute values: the XML escaping the query
/// protocol uses (`&apos;` is an HTML5 character reference too).
pub fn escape(s: &str) -> String {
    crate::protocol::query::xml_escape(s)
}

/// `k=v&...` with every value percent-encoded, for links.
pub fn query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

impl Html {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fixed markup.
    pub fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.buf.push_str(markup);
        self
    }

    /// Text, escaped.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.buf.push_str(&escape(s));
        self
    }

    /// A number.
    pub fn num(&mut self, n: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.buf, "{n}");
        self
    }

    /// `<tag>text</tag>`, text escaped.
    pub fn el(&mut self, open: &'static str, text: &str, close: &'static str) -> &mut Self {
        self.raw(open).text(text).raw(close)
    }

    /// A table row for an item whose call was refused: its id, then the AWS error across the
    /// rest of the row (`cell` opens that cell, with its `colspan`).
    pub fn refused_row(
        &mut self,
        id: &str,
        cell: &'static str,
        r: &super::call::Refusal,
    ) -> &mut Self {
        self.raw("<tr>")
            .el("<td class=\"mono\">", id, "</td>")
            .el(cell, &format!("{}: {}", r.code, r.message), "</td>")
            .raw("</tr>")
    }

    /// `<a href="/console/PATH?QUERY">text</a>`.
    pub fn link(&mut self, path: &'static str, q: &[(&str, &str)], text: &str) -> &mut Self {
        self.raw("<a href=\"").raw(path);
        if !q.is_empty() {
            self.raw("?").text(&query(q));
        }
        self.raw("\">").text(text).raw("</a>")
    }

    /// A hidden form field.
    pub fn hidden(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.raw("<input type=\"hidden\" name=\"")
            .raw(name)
            .raw("\" value=\"")
            .text(value)
            .raw("\">")
    }

    /// A text input with a label.
    pub fn input(
        &mut self,
        label: &'static str,
        name: &'static str,
        value: &str,
        placeholder: &'static str,
    ) -> &mut Self {
        self.raw("<label>")
            .raw(label)
            .raw(" <input type=\"text\" name=\"")
            .raw(name)
            .raw("\" id=\"")
            .raw(name)
            .raw("\" value=\"")
            .text(value)
            .raw("\" placeholder=\"")
            .raw(placeholder)
            .raw("\"></label> ")
    }

    /// The opening of a POST form to `action` carrying the session's CSRF token.
    pub fn post_form(&mut self, action: &'static str, id: &'static str, csrf: &str) -> &mut Self {
        self.raw("<form method=\"post\" action=\"")
            .raw(action)
            .raw("\" id=\"")
            .raw(id)
            .raw("\" class=\"inline\">")
            .hidden("csrf", csrf)
    }

    /// A table row of escaped cells.
    pub fn row(&mut self, cells: &[&str]) -> &mut Self {
        self.raw("<tr>");
        for c in cells {
            self.el("<td>", c, "</td>");
        }
        self.raw("</tr>")
    }

    /// A table header row.
    pub fn head(&mut self, cells: &[&'static str]) -> &mut Self {
        self.raw("<thead><tr>");
        for c in cells {
            self.raw("<th>").raw(c).raw("</th>");
        }
        self.raw("</tr></thead>")
    }

    /// An error banner: the AWS error code and message, as the API would answer.
    pub fn error(&mut self, code: &str, message: &str) -> &mut Self {
        self.raw("<div class=\"error\" id=\"error\" role=\"alert\"><strong>")
            .text(code)
            .raw("</strong>: ")
            .text(message)
            .raw("</div>")
    }

    /// A notice banner.
    pub fn notice(&mut self, message: &str) -> &mut Self {
        self.raw("<div class=\"notice\" id=\"notice\" role=\"status\">")
            .text(message)
            .raw("</div>")
    }

    /// Pretty-printed JSON in a `<pre>`.
    pub fn json(&mut self, v: &serde_json::Value) -> &mut Self {
        let s = serde_json::to_string_pretty(v).unwrap_or_default();
        self.el("<pre class=\"json\">", &s, "</pre>")
    }

    pub fn into_string(self) -> String {
        self.buf
    }
}

/// The sections of the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Secrets,
    Parameters,
    Keys,
    Audit,
    BreakGlass,
    None,
}

/// A whole page: head, navigation (with the signed-in principal and a sign-out form), `body`.
pub fn page(title: &str, section: Section, who: Option<(&str, &str)>, body: Html) -> String {
    let mut h = Html::new();
    h.raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<meta name=\"referrer\" content=\"no-referrer\">")
        .raw("<link rel=\"stylesheet\" href=\"/console/static/console.css\">")
        .raw("<link rel=\"icon\" href=\"/console/static/favicon.svg\">")
        .raw("<title>")
        .text(title)
        .raw(" · coffer</title></head><body><header><span class=\"brand\">coffer</span>");
    if let Some((arn, csrf)) = who {
        h.raw("<nav>");
        for (s, path, label) in [
            (Section::Secrets, "/console/secrets", "Secrets"),
            (Section::Parameters, "/console/parameters", "Parameters"),
            (Section::Keys, "/console/keys", "KMS keys"),
            (Section::Audit, "/console/audit", "Audit trail"),
            (
                Section::BreakGlass,
                "/console/breakglass",
                "Break-glass &amp; alerts",
            ),
        ] {
            h.raw("<a href=\"").raw(path).raw("\"");
            if s == section {
                h.raw(" class=\"current\" aria-current=\"page\"");
            }
            h.raw(">").raw(label).raw("</a>");
        }
        h.raw("</nav><div class=\"who\"><span id=\"principal\">")
            .text(arn)
            .raw("</span> ")
            .post_form("/console/logout", "logout", csrf)
            .raw("<button type=\"submit\">Sign out</button></form></div>");
    }
    h.raw("</header><main>").el("<h1>", title, "</h1>").raw("");
    h.buf.push_str(&body.buf);
    h.raw("</main></body></html>");
    h.buf
}

/// Unix seconds (as AWS answers dates, possibly fractional) as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn date(v: Option<&serde_json::Value>) -> String {
    let Some(secs) = v.and_then(serde_json::Value::as_f64) else {
        return String::new();
    };
    #[allow(clippy::cast_possible_truncation)]
    let t = time::OffsetDateTime::from_unix_timestamp(secs.floor() as i64);
    match t {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => String::new(),
    }
}

/// A JSON member as display text: strings as they are, other values as JSON, absent as "".
pub fn show(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The items of a JSON array (labels, stages) as text, comma separated; empty for anything else.
pub fn joined(v: &serde_json::Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| show(Some(s)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn everything_dynamic_is_escaped() {
        let mut h = Html::new();
        h.el("<td>", "<script>alert(1)</script>", "</td>")
            .hidden("id", "\"><script>")
            .link("/console/secret", &[("id", "a&b<\"'>")], "<b>");
        let s = h.into_string();
        assert!(!s.contains("<script>"), "{s}");
        assert!(s.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(s.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(s.contains("id=a%26b%3C%22%27%3E"), "{s}");
        assert!(s.contains("&lt;b&gt;</a>"));
    }

    #[test]
    fn dates_render_in_utc() {
        assert_eq!(
            date(Some(&serde_json::json!(1_700_000_000.5))),
            "2023-11-14 22:13:20 UTC"
        );
        assert_eq!(date(None), "");
    }

    #[test]
    fn the_page_title_is_escaped() {
        let s = page("<x>", Section::None, Some(("<arn>", "c")), Html::new());
        assert!(!s.contains("<x>") && !s.contains("<arn>"));
    }
}
