//! Recursive descent from tokens to an [`Expr`].
//!
//! ```text
//! condition  = or-expr END
//! or-expr    = and-expr { "or" and-expr }
//! and-expr   = not-expr { "and" not-expr }
//! not-expr   = "not" not-expr | primary
//! primary    = "(" or-expr ")" | test
//! test       = operand [ predicate ]
//! ```
//!
//! (The full grammar, predicates included, is in `docs/rules.md`.) Invariants: the parser
//! recurses only through `not` and `(`, each of which counts one level against
//! [`MAX_DEPTH`], so no text can exhaust the stack; `and`/`or` chains are loops. A lexing
//! error surfaces only when the parser looks at that token, so the error reported is the
//! leftmost one the parser meets. Every test passes its check in `check.rs` before it
//! becomes part of the tree.

use crate::check::{self, Spanned};
use crate::error::{RuleError, Span};
use crate::expr::{CompareOp, Expr, Presence, TextOp};
use crate::lexer::{Keyword, Lexer, Token, TokenKind};
use crate::operand::{self, Literal, Operand};

/// How many `not`s and parentheses may enclose one another.
pub(crate) const MAX_DEPTH: usize = 64;

/// The operators, for hints after a value that is not followed by one.
const OPERATORS: &str = "the operators are = != < <= > >= in, not in, exists, is null, \
    is not null, is empty, is not empty, contains, starts with";

/// Parses a whole condition.
///
/// # Errors
///
/// The first [`RuleError`] met, reading left to right.
pub(crate) fn parse(source: &str) -> Result<Expr, RuleError> {
    let mut parser = Parser::new(source);
    let expr = parser.or_expr()?;
    parser.end()?;
    Ok(expr)
}

struct Parser<'s> {
    source: &'s str,
    lexer: Lexer<'s>,
    current: Result<Token<'s>, RuleError>,
    depth: usize,
}

impl<'s> Parser<'s> {
    fn new(source: &'s str) -> Parser<'s> {
        let mut lexer = Lexer::new(source);
        let current = lexer.next_token();
        Parser {
            source,
            lexer,
            current,
            depth: 0,
        }
    }

    fn peek(&self) -> Result<&Token<'s>, RuleError> {
        self.current.as_ref().map_err(Clone::clone)
    }

    /// Takes the current token (or its error) and lexes the next one.
    fn advance(&mut self) -> Result<Token<'s>, RuleError> {
        let next = self.lexer.next_token();
        std::mem::replace(&mut self.current, next)
    }

    fn at_keyword(&self, keyword: Keyword) -> bool {
        matches!(&self.current, Ok(Token { kind: TokenKind::Keyword(k), .. }) if *k == keyword)
    }

    /// How a token is named in "found …": its text as written.
    fn describe(&self, token: &Token<'_>) -> String {
        match token.kind {
            TokenKind::End => "the end of the condition".to_owned(),
            _ => format!("'{}'", self.text(token.span)),
        }
    }

    fn text(&self, span: Span) -> &'s str {
        self.source
            .get(span.offset..span.offset + span.len)
            .unwrap_or_default()
    }

    fn descend(&mut self, at: Span) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::new(
                at,
                format!("nesting too deep: more than {MAX_DEPTH} levels of 'not' and '('"),
            )
            .hint("split the condition into several rules"));
        }
        Ok(())
    }

    fn end(&self) -> Result<(), RuleError> {
        let token = self.peek()?;
        let found = self.describe(token);
        match token.kind {
            TokenKind::End => Ok(()),
            TokenKind::RParen => Err(RuleError::new(token.span, "this ')' has no matching '('")
                .hint("remove it, or add '(' where the group starts")),
            _ => Err(RuleError::new(
                token.span,
                format!("unexpected {found} after a complete test"),
            )
            .hint("join tests with and / or")),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, RuleError> {
        let mut terms = vec![self.and_expr()?];
        while self.at_keyword(Keyword::Or) {
            self.advance()?;
            terms.push(self.and_expr()?);
        }
        Ok(Expr::any(terms))
    }

    fn and_expr(&mut self) -> Result<Expr, RuleError> {
        let mut factors = vec![self.not_expr()?];
        while self.at_keyword(Keyword::And) {
            self.advance()?;
            factors.push(self.not_expr()?);
        }
        Ok(Expr::all(factors))
    }

    fn not_expr(&mut self) -> Result<Expr, RuleError> {
        if !self.at_keyword(Keyword::Not) {
            return self.primary();
        }

        let not = self.advance()?;
        self.descend(not.span)?;
        let inner = self.not_expr()?;
        self.depth -= 1;
        Ok(Expr::Not(Box::new(inner)))
    }

    fn primary(&mut self) -> Result<Expr, RuleError> {
        if self.peek()?.kind != TokenKind::LParen {
            return self.test();
        }

        let open = self.advance()?;
        self.descend(open.span)?;
        let inner = self.or_expr()?;
        self.close(open.span, "expected 'and', 'or' or ')'")?;
        self.depth -= 1;
        Ok(inner)
    }

    /// Consumes the `)` closing the `(` at `open`.
    fn close(&mut self, open: Span, expected: &str) -> Result<(), RuleError> {
        let token = self.peek()?;
        match token.kind {
            TokenKind::RParen => {
                self.advance()?;
                Ok(())
            }
            TokenKind::End => {
                Err(RuleError::new(open, "missing ')' for this '('")
                    .hint("close the group with ')'"))
            }
            _ => {
                let found = self.describe(token);
                Err(RuleError::new(
                    token.span,
                    format!("{expected}, found {found}"),
                ))
            }
        }
    }

    fn test(&mut self) -> Result<Expr, RuleError> {
        let subject = self.operand()?;
        let token = self.peek()?.clone();
        match token.kind {
            TokenKind::Compare(op) => self.comparison(subject, op),
            TokenKind::Keyword(Keyword::In) => self.membership(subject, false),
            TokenKind::Keyword(Keyword::Not) => self.not_in(subject),
            TokenKind::Keyword(Keyword::Exists) => self.presence(subject, Presence::Exists),
            TokenKind::Keyword(Keyword::Is) => self.is(subject),
            TokenKind::Keyword(Keyword::Contains) => self.text_test(subject, TextOp::Contains),
            TokenKind::Keyword(Keyword::Starts) => self.text_test(subject, TextOp::StartsWith),
            TokenKind::Keyword(Keyword::And | Keyword::Or) | TokenKind::RParen | TokenKind::End => {
                check::alone(subject)
            }
            TokenKind::Word(word) => Err(RuleError::new(
                token.span,
                format!("unknown operator '{word}'"),
            )
            .hint(OPERATORS)),
            _ => {
                let found = self.describe(&token);
                Err(RuleError::new(
                    token.span,
                    format!(
                        "expected an operator after {}, found {found}",
                        subject.value
                    ),
                )
                .hint(OPERATORS))
            }
        }
    }

    fn comparison(&mut self, left: Spanned<Operand>, op: CompareOp) -> Result<Expr, RuleError> {
        let op_span = self.advance()?.span;
        let right = self.operand()?;
        let op_at = Spanned {
            value: op,
            span: op_span,
        };
        check::comparison(&left, op_at, &right)?;
        Ok(Expr::Compare {
            left: left.value,
            op,
            right: right.value,
        })
    }

    fn not_in(&mut self, subject: Spanned<Operand>) -> Result<Expr, RuleError> {
        let not = self.advance()?;
        if !self.at_keyword(Keyword::In) {
            return Err(
                RuleError::new(not.span, "after a value, 'not' must be followed by 'in'").hint(
                    format!(
                        "to negate a test, put not in front of it: not {} exists",
                        subject.value
                    ),
                ),
            );
        }
        self.membership(subject, true)
    }

    fn membership(&mut self, subject: Spanned<Operand>, negated: bool) -> Result<Expr, RuleError> {
        check::member_subject(&subject)?;
        self.advance()?;

        let open = self.advance()?;
        if open.kind != TokenKind::LParen {
            let found = self.describe(&open);
            return Err(RuleError::new(
                open.span,
                format!("expected '(' after 'in', found {found}"),
            )
            .hint("list the values in parentheses: in (\"A01\", \"A04\")"));
        }
        let next = self.peek()?;
        if next.kind == TokenKind::RParen {
            return Err(
                RuleError::new(open.span.to(next.span), "the list after 'in' is empty")
                    .hint("list at least one value: in (\"A01\")"),
            );
        }

        let list = self.list(&subject, open.span)?;
        Ok(Expr::Member {
            subject: subject.value,
            list,
            negated,
        })
    }

    /// The values of an `in` list, up to and including its `)`.
    fn list(&mut self, subject: &Spanned<Operand>, open: Span) -> Result<Vec<Literal>, RuleError> {
        let mut list = Vec::new();
        loop {
            let item = self.operand()?;
            list.push(check::list_item(subject, item)?);

            if self.peek()?.kind != TokenKind::Comma {
                self.close(open, "expected ',' or ')' in the list")?;
                return Ok(list);
            }
            self.advance()?;
        }
    }

    fn presence(&mut self, subject: Spanned<Operand>, test: Presence) -> Result<Expr, RuleError> {
        let token = self.advance()?;
        let word = Spanned {
            value: "exists",
            span: token.span,
        };
        check::presence(&subject, word)?;
        Ok(Expr::Presence {
            subject: subject.value,
            test,
        })
    }

    /// `is [not] null`, `is [not] empty`.
    fn is(&mut self, subject: Spanned<Operand>) -> Result<Expr, RuleError> {
        let is = self.advance()?;
        check::presence(
            &subject,
            Spanned {
                value: "is",
                span: is.span,
            },
        )?;

        let negated = self.at_keyword(Keyword::Not);
        if negated {
            self.advance()?;
        }
        let token = self.advance()?;
        let test = match (token.kind, negated) {
            (TokenKind::Keyword(Keyword::Null), false) => Presence::Null,
            (TokenKind::Keyword(Keyword::Null), true) => Presence::NotNull,
            (TokenKind::Keyword(Keyword::Empty), false) => Presence::Empty,
            (TokenKind::Keyword(Keyword::Empty), true) => Presence::NotEmpty,
            (kind, _) => {
                let found = self.describe(&Token {
                    kind,
                    span: token.span,
                });
                return Err(RuleError::new(
                    token.span,
                    format!("expected 'null' or 'empty' after 'is', found {found}"),
                )
                .hint("write is null, is not null, is empty or is not empty"));
            }
        };
        Ok(Expr::Presence {
            subject: subject.value,
            test,
        })
    }

    fn text_test(&mut self, subject: Spanned<Operand>, op: TextOp) -> Result<Expr, RuleError> {
        self.advance()?;
        if op == TextOp::StartsWith {
            let with = self.advance()?;
            if with.kind != TokenKind::Keyword(Keyword::With) {
                let found = self.describe(&with);
                return Err(RuleError::new(
                    with.span,
                    format!("expected 'with' after 'starts', found {found}"),
                )
                .hint("write starts with \"…\""));
            }
        }

        let needle = self.operand()?;
        check::text_test(&subject, &needle)?;
        Ok(Expr::Text {
            subject: subject.value,
            op,
            needle: needle.value,
        })
    }

    fn operand(&mut self) -> Result<Spanned<Operand>, RuleError> {
        let token = self.advance()?;
        let span = token.span;
        let value = match token.kind {
            TokenKind::Word(word) => operand::from_word(word, span)?,
            TokenKind::Property(property) => Operand::Property(property),
            TokenKind::Text(text) if text.is_empty() => return Err(empty_text(span)),
            TokenKind::Text(text) => Operand::Literal(Literal::Text(text)),
            TokenKind::Number(number) => Operand::Literal(Literal::Number(number)),
            TokenKind::Keyword(Keyword::True) => Operand::Literal(Literal::Bool(true)),
            TokenKind::Keyword(Keyword::False) => Operand::Literal(Literal::Bool(false)),
            kind => return Err(self.expected_operand(&Token { kind, span })),
        };
        Ok(Spanned { value, span })
    }

    fn expected_operand(&self, token: &Token<'_>) -> RuleError {
        let found = self.describe(token);
        let error = RuleError::new(
            token.span,
            format!("expected a field path, a msg. property or a value, found {found}"),
        );
        match &token.kind {
            TokenKind::LParen => error.hint("to compare with several values, use in (…)"),
            TokenKind::Keyword(keyword) => error.hint(format!(
                "'{}' is a keyword; to compare with the text, quote it: \"{}\"",
                keyword.name(),
                self.text(token.span)
            )),
            _ => error,
        }
    }
}

/// `""` is HL7's null, and a field's text is never empty: `= ""` would never match.
fn empty_text(span: Span) -> RuleError {
    RuleError::new(
        span,
        "empty text never matches: a field's text is never empty",
    )
    .hint("test for the HL7 null with is null, for a missing field with is empty")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operand::Property;

    fn flag() -> Expr {
        Expr::Flag(Operand::Property(Property::Duplicate))
    }

    #[test]
    fn not_binds_tighter_than_and_and_and_than_or() {
        let tree = parse("msg.duplicate or not msg.duplicate and true").unwrap();
        let expected = Expr::Any(vec![
            flag(),
            Expr::All(vec![Expr::Not(Box::new(flag())), Expr::Const(true)]),
        ]);
        assert_eq!(tree, expected);
    }

    #[test]
    fn parentheses_group_and_same_operators_flatten() {
        let tree = parse("(true or false) and (true and (false and true))").unwrap();
        let expected = Expr::All(vec![
            Expr::Any(vec![Expr::Const(true), Expr::Const(false)]),
            Expr::Const(true),
            Expr::Const(false),
            Expr::Const(true),
        ]);
        assert_eq!(tree, expected);
        assert_eq!(parse("((((true))))").unwrap(), Expr::Const(true));
    }

    #[test]
    fn depth_is_restored_after_each_group() {
        let siblings = vec!["(not true)"; MAX_DEPTH * 2].join(" and ");
        assert!(parse(&siblings).is_ok());
    }
}
