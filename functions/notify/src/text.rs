//! Plain-text helpers for the email: durations, times, clean single lines, wrapped blocks and
//! aligned tables.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// `4s`, `2m 41s`, `1h 12m`, `2d 3h`: two units at most, enough at a glance.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// `2026-11-20 09:12:03 UTC`.
pub fn utc(time: &DateTime) -> String {
    let whole = DateTime::from_secs(time.secs());
    match whole.fmt(Format::DateTime) {
        Ok(iso) => format!("{} UTC", iso.trim_end_matches('Z').replacen('T', " ", 1)),
        Err(_) => format!("{} s after the epoch", time.secs()),
    }
}

/// An ISO-8601 time as [`utc`] shows it; other text as it is.
pub fn utc_text(text: &str) -> String {
    DateTime::from_str(text.trim(), Format::DateTime)
        .map(|t| utc(&t))
        .unwrap_or_else(|_| one_line(text, 40))
}

/// Text from outside (commit messages, error messages) without control characters: line
/// breaks normalised to `\n`, tabs to spaces, everything else of category Cc dropped.
pub fn clean(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\t', "    ")
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect()
}

/// One line of at most `max` characters, for table cells and labels.
pub fn one_line(text: &str, max: usize) -> String {
    let flat = clean(text).split_whitespace().collect::<Vec<_>>().join(" ");
    cut_chars(&flat, max)
}

/// At most `max` characters, the last of them `...` when cut.
pub fn cut_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(3);
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(&"..."[..3.min(max)]);
    out
}

/// A block of text indented by `indent`, with its lines kept as written (so tables in an error
/// message stay tables), except that lines longer than [`LONG_LINE`] are word-wrapped at
/// [`WRAP_AT`] characters: mail transports choke on very long lines.
pub fn block(text: &str, indent: &str) -> String {
    let mut out = String::new();
    for line in clean(text).trim_matches('\n').lines() {
        let line = line.trim_end();
        if line.chars().count() <= LONG_LINE {
            push_line(&mut out, indent, line);
        } else {
            for wrapped in wrap(line, WRAP_AT) {
                push_line(&mut out, indent, &wrapped);
            }
        }
    }
    out
}

/// Lines up to this length are kept as they are.
pub const LONG_LINE: usize = 160;
/// Longer lines are wrapped to this width.
pub const WRAP_AT: usize = 100;

fn push_line(out: &mut String, indent: &str, line: &str) {
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(line);
    }
    out.push('\n');
}

/// Prose word-wrapped to `width`, ending with a line break.
pub fn paragraph(text: &str, width: usize) -> String {
    let mut out = wrap(&one_line(text, usize::MAX), width).join("\n");
    out.push('\n');
    out
}

/// Word wrap; words longer than `width` are split.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut len = 0;
    for word in line.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if len > 0 {
                lines.push(std::mem::take(&mut current));
                len = 0;
            }
            lines.push(word.drain(..width).collect());
        }
        let wlen = word.len();
        if wlen == 0 {
            continue;
        }
        if len > 0 && len + 1 + wlen > width {
            lines.push(std::mem::take(&mut current));
            len = 0;
        }
        if len > 0 {
            current.push(' ');
            len += 1;
        }
        current.extend(word);
        len += wlen;
    }
    if len > 0 {
        lines.push(current);
    }
    lines
}

/// Column alignment of a [`table`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// An aligned table with a header and a rule under it, every line indented by `indent`.
/// Cells are single lines (see [`one_line`]); widths count characters.
pub fn table(indent: &str, header: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = header
        .iter()
        .enumerate()
        .map(|(i, (title, _))| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .chain([title.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut out = String::from(indent);
        for (i, ((_, align), cell)) in header.iter().zip(cells).enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            let last = i + 1 == header.len();
            if i > 0 {
                out.push_str("  ");
            }
            match align {
                Align::Left => {
                    out.push_str(cell);
                    if !last {
                        out.push_str(&" ".repeat(pad));
                    }
                }
                Align::Right => {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(header.iter().map(|(t, _)| *t).collect());
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(rules.iter().map(String::as_str).collect()));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `label  value` lines with the values aligned, skipping absent values.
pub fn fields(indent: &str, items: &[(&str, Option<String>)]) -> String {
    let present: Vec<(&str, &String)> = items
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
        .collect();
    let width = present
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in present {
        let pad = width - k.chars().count();
        out.push_str(&format!("{indent}{k}{}  {v}\n", " ".repeat(pad)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(161), "2m 41s");
        assert_eq!(duration(3_600 + 12 * 60 + 5), "1h 12m");
        assert_eq!(duration(2 * 86_400 + 3 * 3_600 + 7), "2d 3h");
        assert_eq!(duration(-5), "0s");
    }

    #[test]
    fn times() {
        let t = DateTime::from_str("2026-11-20T09:12:03.208Z", Format::DateTime).unwrap();
        assert_eq!(utc(&t), "2026-11-20 09:12:03 UTC");
        assert_eq!(utc_text("2026-11-20T09:12:03Z"), "2026-11-20 09:12:03 UTC");
        assert_eq!(utc_text("last Tuesday"), "last Tuesday");
    }

    #[test]
    fn control_characters_go() {
        assert_eq!(clean("a\r\nb\x07c\td\x1b[31m"), "a\nbc    d[31m");
        assert_eq!(one_line("  fix:\n  the\tthing  ", 80), "fix: the thing");
        assert_eq!(one_line("abcdefghij", 6), "abc...");
    }

    #[test]
    fn table_aligns_and_right_aligns() {
        let t = table(
            "  ",
            &[("Stage", Align::Left), ("Duration", Align::Right)],
            &[
                vec!["Source".into(), "4s".into()],
                vec!["Evaluate".into(), "12m 3s".into()],
            ],
        );
        assert_eq!(
            t,
            "  Stage     Duration\n  --------  --------\n  Source          4s\n  Evaluate    12m 3s\n"
        );
    }

    #[test]
    fn block_keeps_short_lines_and_wraps_long_ones() {
        let table_line = "metric  value  threshold";
        let long = "word ".repeat(60);
        let out = block(&format!("{table_line}\n\n{long}"), "    ");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "    metric  value  threshold");
        assert_eq!(lines[1], "");
        assert!(lines[2..].iter().all(|l| l.len() <= 4 + WRAP_AT), "{out}");
        assert_eq!(lines[2..].join(" ").split_whitespace().count(), 60);
    }

    proptest! {
        #[test]
        fn wrapped_lines_fit_and_keep_every_character(line in "[a-z ]{0,400}") {
            let wrapped = wrap(&line, 20);
            prop_assert!(wrapped.iter().all(|l| l.chars().count() <= 20));
            let squashed: String = line.split_whitespace().collect();
            prop_assert_eq!(wrapped.concat().replace(' ', ""), squashed);
        }

        #[test]
        fn cut_chars_fits(text in ".{0,50}", max in 0usize..40) {
            prop_assert!(cut_chars(&text, max).chars().count() <= max);
        }
    }
}
