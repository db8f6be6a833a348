//! The lexer: condition text to tokens, one at a time, on demand.
//!
//! Owns the token vocabulary: punctuation, comparison operators, quoted strings, numbers,
//! keywords, `msg.` properties, and words (field paths, or mistakes the parser explains).
//! A word is a maximal run of characters that are neither white space nor one of
//! `( ) , = ! < > " ' & |`; so `PID-3[2].1` is one token and `MSH-9.1="ADT"` three. In a
//! word starting `xml:`, `()` right after the word is part of it, so `xml:/a/text()` is one
//! token.
//!
//! Invariants: every token and every error carries its exact byte span; each call consumes
//! at least one character or returns [`TokenKind::End`]; after an error the lexer is at the
//! end of the text, so the parser cannot loop on it.

use crate::error::{RuleError, Span};
use crate::expr::CompareOp;
use crate::number::Number;
use crate::operand::{Property, quote};

/// A reserved word; case does not matter in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    In,
    Exists,
    Is,
    Null,
    Empty,
    Contains,
    Starts,
    With,
    True,
    False,
}

impl Keyword {
    const ALL: [Keyword; 13] = [
        Keyword::And,
        Keyword::Or,
        Keyword::Not,
        Keyword::In,
        Keyword::Exists,
        Keyword::Is,
        Keyword::Null,
        Keyword::Empty,
        Keyword::Contains,
        Keyword::Starts,
        Keyword::With,
        Keyword::True,
        Keyword::False,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Keyword::And => "and",
            Keyword::Or => "or",
            Keyword::Not => "not",
            Keyword::In => "in",
            Keyword::Exists => "exists",
            Keyword::Is => "is",
            Keyword::Null => "null",
            Keyword::Empty => "empty",
            Keyword::Contains => "contains",
            Keyword::Starts => "starts",
            Keyword::With => "with",
            Keyword::True => "true",
            Keyword::False => "false",
        }
    }

    fn lookup(word: &str) -> Option<Keyword> {
        Keyword::ALL
            .into_iter()
            .find(|keyword| keyword.name().eq_ignore_ascii_case(word))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind<'s> {
    LParen,
    RParen,
    Comma,
    Compare(CompareOp),
    Keyword(Keyword),
    Property(Property),
    /// A quoted string, escapes resolved.
    Text(String),
    Number(Number),
    /// Any other word: a field path, or a mistake the parser reports in context.
    Word(&'s str),
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'s> {
    pub(crate) kind: TokenKind<'s>,
    pub(crate) span: Span,
}

/// Characters that end a word (besides white space).
const DELIMITERS: &[char] = &['(', ')', ',', '=', '!', '<', '>', '"', '\'', '&', '|'];

pub(crate) struct Lexer<'s> {
    source: &'s str,
    pos: usize,
}

impl<'s> Lexer<'s> {
    pub(crate) fn new(source: &'s str) -> Lexer<'s> {
        Lexer { source, pos: 0 }
    }

    /// The next token, or the error that the next characters are.
    ///
    /// # Errors
    ///
    /// A [`RuleError`] for a character sequence that is no token: `==`, `&&`, `||`, a
    /// single-quoted or unterminated string, a bad escape, a malformed number, an unknown
    /// `msg.` property or a stray character.
    pub(crate) fn next_token(&mut self) -> Result<Token<'s>, RuleError> {
        self.skip_white_space();
        let Some(first) = self.rest().chars().next() else {
            return Ok(self.token(TokenKind::End, 0));
        };

        let token = match first {
            '(' => Ok(self.token(TokenKind::LParen, 1)),
            ')' => Ok(self.token(TokenKind::RParen, 1)),
            ',' => Ok(self.token(TokenKind::Comma, 1)),
            '=' | '!' | '<' | '>' | '&' | '|' => self.operator(first),
            '"' => self.string(),
            '\'' => Err(self.single_quoted()),
            _ => self.word(),
        };

        if token.is_err() {
            self.pos = self.source.len();
        }
        token
    }

    fn rest(&self) -> &'s str {
        &self.source[self.pos..]
    }

    fn skip_white_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// A token of `len` bytes starting here; moves past it.
    fn token(&mut self, kind: TokenKind<'s>, len: usize) -> Token<'s> {
        let span = Span::new(self.pos, len);
        self.pos += len;
        Token { kind, span }
    }

    fn operator(&mut self, first: char) -> Result<Token<'s>, RuleError> {
        let second = self.rest()[1..].chars().next();
        let (op, len) = match (first, second) {
            ('=', Some('=')) => return Err(self.mistake(2, "use a single = to compare")),
            ('=', Some('>')) => return Err(self.mistake(2, "write >=")),
            ('=', Some('<')) => return Err(self.mistake(2, "write <=")),
            ('=', _) => (CompareOp::Eq, 1),
            ('!', Some('=')) => (CompareOp::Ne, 2),
            ('!', _) => return Err(self.mistake(1, "negate with not; compare with !=")),
            ('<', Some('=')) => (CompareOp::Le, 2),
            ('<', Some('>')) => return Err(self.mistake(2, "write !=")),
            ('<', _) => (CompareOp::Lt, 1),
            ('>', Some('=')) => (CompareOp::Ge, 2),
            ('>', _) => (CompareOp::Gt, 1),
            ('&', Some('&')) => return Err(self.mistake(2, "write and")),
            ('|', Some('|')) => return Err(self.mistake(2, "write or")),
            ('&', _) => return Err(self.mistake(1, "write and")),
            _ => return Err(self.mistake(1, "write or")),
        };
        Ok(self.token(TokenKind::Compare(op), len))
    }

    /// The error for an operator-like sequence of `len` bytes that the language lacks.
    fn mistake(&self, len: usize, hint: &str) -> RuleError {
        let text = &self.rest()[..len];
        RuleError::new(
            Span::new(self.pos, len),
            format!("'{text}' is not an operator"),
        )
        .hint(hint)
    }

    fn string(&mut self) -> Result<Token<'s>, RuleError> {
        let start = self.pos;
        let body = &self.source[start + 1..];
        let mut text = String::new();
        let mut chars = body.char_indices();

        while let Some((at, c)) = chars.next() {
            match c {
                '"' => {
                    let len = at + 2;
                    return Ok(self.token(TokenKind::Text(text), len));
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('"' | '\\'))) => text.push(escaped),
                    Some((_, other)) => {
                        let span = Span::new(start + 1 + at, 1 + other.len_utf8());
                        return Err(bad_escape(span, other));
                    }
                    None => break,
                },
                _ => text.push(c),
            }
        }

        let span = Span::new(start, self.source.len() - start);
        Err(RuleError::new(span, "unterminated string: no closing \"")
            .hint("end the text with \"; write \\\" for a quote inside it"))
    }

    fn single_quoted(&self) -> RuleError {
        let yaml = "in YAML, put the whole condition in single quotes";
        match self.rest()[1..].find('\'') {
            Some(at) => {
                let inner = &self.rest()[1..1 + at];
                RuleError::new(Span::new(self.pos, at + 2), "text is quoted with \", not '")
                    .hint(format!("write {}; {yaml}", quote(inner)))
            }
            None => RuleError::new(
                Span::new(self.pos, 1),
                "unexpected ': text is quoted with \"",
            )
            .hint(format!("write \"…\"; {yaml}")),
        }
    }

    fn word(&mut self) -> Result<Token<'s>, RuleError> {
        let rest = self.rest();
        let word_end = |from: usize| {
            rest[from..]
                .find(|c: char| c.is_whitespace() || DELIMITERS.contains(&c))
                .map_or(rest.len(), |at| from + at)
        };
        let mut len = word_end(0);
        // An XML path may end in `text()`: its `()` belongs to the path, not to grouping.
        if has_xml_prefix(rest) && rest[len..].starts_with("()") {
            len = word_end(len + 2);
        }
        let word = &rest[..len];
        let span = Span::new(self.pos, len);

        let kind = if starts_like_number(word) {
            TokenKind::Number(Number::parse_literal(word).ok_or_else(|| not_a_number(word, span))?)
        } else if let Some(keyword) = Keyword::lookup(word) {
            TokenKind::Keyword(keyword)
        } else if has_property_prefix(word) {
            TokenKind::Property(
                Property::from_name(word).ok_or_else(|| unknown_property(word, span))?,
            )
        } else {
            TokenKind::Word(word)
        };
        Ok(self.token(kind, len))
    }
}

fn bad_escape(span: Span, escaped: char) -> RuleError {
    RuleError::new(span, format!("unknown escape '\\{escaped}' in a string")).hint(
        "only \\\" and \\\\ are escapes; field values are compared decoded, \
             so write the character itself",
    )
}

/// Digits, or a sign or point before a digit: meant as a number, right or wrong.
fn starts_like_number(word: &str) -> bool {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) if first.is_ascii_digit() => true,
        Some('-' | '+' | '.') => chars.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

fn not_a_number(word: &str, span: Span) -> RuleError {
    RuleError::new(span, format!("'{word}' is not a number")).hint(format!(
        "numbers are written like 42, -7 or 0.5; quote text: {}",
        quote(word)
    ))
}

fn has_xml_prefix(word: &str) -> bool {
    word.get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("xml:"))
}

fn has_property_prefix(word: &str) -> bool {
    word.get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("msg."))
}

fn unknown_property(word: &str, span: Span) -> RuleError {
    let names: Vec<&str> = Property::ALL
        .iter()
        .map(|property| property.name())
        .collect();
    RuleError::new(span, format!("unknown property '{word}'"))
        .hint(format!("the properties are {}", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<TokenKind<'_>> {
        let mut lexer = Lexer::new(source);
        let mut kinds = Vec::new();
        loop {
            let token = lexer.next_token().unwrap();
            if token.kind == TokenKind::End {
                return kinds;
            }
            kinds.push(token.kind);
        }
    }

    fn error(source: &str) -> RuleError {
        let mut lexer = Lexer::new(source);
        loop {
            match lexer.next_token() {
                Ok(token) if token.kind == TokenKind::End => panic!("no error in {source:?}"),
                Ok(_) => {}
                Err(error) => return error,
            }
        }
    }

    #[test]
    fn splits_paths_from_operators_without_spaces() {
        assert_eq!(
            kinds("MSH-9.1=\"ADT\"AND(PID-3[2].1!=-5)"),
            vec![
                TokenKind::Word("MSH-9.1"),
                TokenKind::Compare(CompareOp::Eq),
                TokenKind::Text("ADT".to_owned()),
                TokenKind::Keyword(Keyword::And),
                TokenKind::LParen,
                TokenKind::Word("PID-3[2].1"),
                TokenKind::Compare(CompareOp::Ne),
                TokenKind::Number(Number::parse_literal("-5").unwrap()),
                TokenKind::RParen,
            ]
        );
    }

    #[test]
    fn xml_paths_keep_their_text_parentheses() {
        assert_eq!(
            kinds("(xml:/a/text()=\"x\")xml:/b ()"),
            vec![
                TokenKind::LParen,
                TokenKind::Word("xml:/a/text()"),
                TokenKind::Compare(CompareOp::Eq),
                TokenKind::Text("x".to_owned()),
                TokenKind::RParen,
                TokenKind::Word("xml:/b"),
                TokenKind::LParen,
                TokenKind::RParen,
            ]
        );
        assert_eq!(
            kinds("json:/text()"),
            vec![
                TokenKind::Word("json:/text"),
                TokenKind::LParen,
                TokenKind::RParen
            ]
        );
    }

    #[test]
    fn reads_escapes_and_unicode_in_strings() {
        assert_eq!(
            kinds(r#""a\"b\\c" "Grüße""#),
            vec![
                TokenKind::Text("a\"b\\c".to_owned()),
                TokenKind::Text("Grüße".to_owned())
            ]
        );
    }

    #[test]
    fn keywords_and_properties_ignore_case() {
        assert_eq!(
            kinds("Not STARTS msg.DocType"),
            vec![
                TokenKind::Keyword(Keyword::Not),
                TokenKind::Keyword(Keyword::Starts),
                TokenKind::Property(Property::DocType),
            ]
        );
    }

    #[test]
    fn each_error_points_at_its_characters() {
        let cases = [
            ("a == b", 2, 2),
            ("a => b", 2, 2),
            ("a =< b", 2, 2),
            ("a <> b", 2, 2),
            ("a && b", 2, 2),
            ("a & b", 2, 1),
            ("a || b", 2, 2),
            ("a | b", 2, 1),
            ("!a", 0, 1),
            ("x = 'ADT'", 4, 5),
            ("x = 'ADT", 4, 1),
            ("x = \"ADT", 4, 4),
            ("x = \"A\\", 4, 3),
            ("x = \"A\\T\\\"", 6, 2),
            ("x = \"\\é\"", 5, 3),
            ("x < 1.2.3 and", 4, 5),
            ("x = 12abc", 4, 5),
            ("msg.sender", 0, 10),
        ];
        for (source, offset, len) in cases {
            let error = error(source);
            assert_eq!(
                (error.offset, error.len),
                (offset, len),
                "{source:?}: {error}"
            );
        }
    }

    #[test]
    fn errors_leave_the_lexer_at_the_end() {
        let mut lexer = Lexer::new("a == b c");
        lexer.next_token().unwrap();
        assert!(lexer.next_token().is_err());
        assert_eq!(lexer.next_token().unwrap().kind, TokenKind::End);
    }
}
