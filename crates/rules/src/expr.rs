//! The compiled expression tree: evaluation and the canonical printed form.
//!
//! Owns [`Expr`] and the operator enums. Invariants, kept by the constructors and the
//! parser: an `All` or `Any` has at least two children and none of the same kind (nested
//! `and` inside `and` is flattened), so the printed form needs parentheses only where the
//! precedence demands them and reads back to an equal tree; the tree is at most
//! [`crate::parser::MAX_DEPTH`] levels of `not` and parentheses deep, so the recursion in
//! evaluation, printing and dropping is bounded.

use std::cmp::Ordering;
use std::fmt;

use ferry_hl7::{FieldPath, FieldValue};

use crate::condition::Document;
use crate::operand::{Literal, Operand};
use crate::value::Value;

/// `=`, `!=`, `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// Whether the operator asks for an order rather than equality.
    pub(crate) fn is_ordering(self) -> bool {
        !matches!(self, CompareOp::Eq | CompareOp::Ne)
    }

    /// `!=` is exactly `not =`, so a value that compares with nothing is `!=` everything.
    fn holds(self, order: Option<Ordering>) -> bool {
        match self {
            CompareOp::Eq => order == Some(Ordering::Equal),
            CompareOp::Ne => order != Some(Ordering::Equal),
            CompareOp::Lt => order == Some(Ordering::Less),
            CompareOp::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
            CompareOp::Gt => order == Some(Ordering::Greater),
            CompareOp::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// `exists`, `is null`, `is not null`, `is empty`, `is not empty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    Exists,
    Null,
    NotNull,
    Empty,
    NotEmpty,
}

impl Presence {
    /// Null is present: it says "delete the old value", which is information. Empty text
    /// (an XML element or a JSON string with none) exists but is empty; an HL7 field is
    /// never empty text, so for HL7 `is empty` is exactly "missing".
    fn holds(self, value: &Value<'_>) -> bool {
        let missing = matches!(value, Value::Read(FieldValue::Missing));
        let null = matches!(value, Value::Read(FieldValue::Null));
        let empty = missing || value.text() == Some("");
        match self {
            Presence::Exists => !missing,
            Presence::NotEmpty => !empty,
            Presence::Empty => empty,
            Presence::Null => null,
            Presence::NotNull => !null,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Presence::Exists => "exists",
            Presence::Null => "is null",
            Presence::NotNull => "is not null",
            Presence::Empty => "is empty",
            Presence::NotEmpty => "is not empty",
        }
    }
}

/// `contains`, `starts with`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOp {
    Contains,
    StartsWith,
}

impl TextOp {
    fn holds(self, text: &str, needle: &str) -> bool {
        match self {
            TextOp::Contains => text.contains(needle),
            TextOp::StartsWith => text.starts_with(needle),
        }
    }

    fn words(self) -> &'static str {
        match self {
            TextOp::Contains => "contains",
            TextOp::StartsWith => "starts with",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    /// `true` or `false` written alone.
    Const(bool),
    /// A true-or-false operand written alone, such as `msg.duplicate`.
    Flag(Operand),
    Not(Box<Expr>),
    /// `and`: every child holds.
    All(Vec<Expr>),
    /// `or`: some child holds.
    Any(Vec<Expr>),
    Compare {
        left: Operand,
        op: CompareOp,
        right: Operand,
    },
    /// `in (…)`, or `not in (…)` when `negated`.
    Member {
        subject: Operand,
        list: Vec<Literal>,
        negated: bool,
    },
    Presence {
        subject: Operand,
        test: Presence,
    },
    Text {
        subject: Operand,
        op: TextOp,
        needle: Operand,
    },
}

impl Expr {
    /// The `and` of `children`, flattened; one child is returned as it is.
    pub(crate) fn all(children: Vec<Expr>) -> Expr {
        Expr::joined(children, Expr::All, |expr| match expr {
            Expr::All(inner) => Ok(inner),
            other => Err(other),
        })
    }

    /// The `or` of `children`, flattened; one child is returned as it is.
    pub(crate) fn any(children: Vec<Expr>) -> Expr {
        Expr::joined(children, Expr::Any, |expr| match expr {
            Expr::Any(inner) => Ok(inner),
            other => Err(other),
        })
    }

    fn joined(
        children: Vec<Expr>,
        make: fn(Vec<Expr>) -> Expr,
        same_kind: fn(Expr) -> Result<Vec<Expr>, Expr>,
    ) -> Expr {
        let mut flat = Vec::with_capacity(children.len());
        for child in children {
            match same_kind(child) {
                Ok(inner) => flat.extend(inner),
                Err(other) => flat.push(other),
            }
        }
        match <[Expr; 1]>::try_from(flat) {
            Ok([only]) => only,
            Err(flat) => make(flat),
        }
    }

    pub(crate) fn matches(&self, doc: &dyn Document) -> bool {
        match self {
            Expr::Const(value) => *value,
            Expr::Flag(operand) => matches!(operand.read(doc), Value::Bool(true)),
            Expr::Not(inner) => !inner.matches(doc),
            Expr::All(children) => children.iter().all(|child| child.matches(doc)),
            Expr::Any(children) => children.iter().any(|child| child.matches(doc)),
            Expr::Compare { left, op, right } => op.holds(left.read(doc).order(&right.read(doc))),
            Expr::Member {
                subject,
                list,
                negated,
            } => member(&subject.read(doc), list) != *negated,
            Expr::Presence { subject, test } => test.holds(&subject.read(doc)),
            Expr::Text {
                subject,
                op,
                needle,
            } => {
                let (subject, needle) = (subject.read(doc), needle.read(doc));
                match (subject.text(), needle.text()) {
                    (Some(text), Some(needle)) => op.holds(text, needle),
                    _ => false,
                }
            }
        }
    }

    /// Adds every HL7 path the expression reads to `paths`, each once, in reading order.
    pub(crate) fn hl7_paths<'a>(&'a self, paths: &mut Vec<&'a FieldPath>) {
        let mut add = |operand: &'a Operand| {
            if let Operand::Hl7(path) = operand
                && !paths.contains(&path)
            {
                paths.push(path);
            }
        };
        match self {
            Expr::Const(_) => {}
            Expr::Flag(operand) => add(operand),
            Expr::Not(inner) => inner.hl7_paths(paths),
            Expr::All(children) | Expr::Any(children) => {
                children.iter().for_each(|child| child.hl7_paths(paths));
            }
            Expr::Compare { left, right, .. } => {
                add(left);
                add(right);
            }
            Expr::Member { subject, .. } | Expr::Presence { subject, .. } => add(subject),
            Expr::Text {
                subject, needle, ..
            } => {
                add(subject);
                add(needle);
            }
        }
    }
}

fn member(value: &Value<'_>, list: &[Literal]) -> bool {
    list.iter().any(|item| {
        let item = match item {
            Literal::Text(text) => Value::Quoted(text),
            Literal::Number(number) => Value::Number(number.as_decimal()),
            Literal::Bool(flag) => Value::Bool(*flag),
        };
        value.order(&item) == Some(Ordering::Equal)
    })
}

impl fmt::Display for Expr {
    /// The canonical form: lower-case keywords, single spaces, the shortest paths and
    /// numbers, parentheses only where precedence needs them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Const(value) => value.fmt(f),
            Expr::Flag(operand) => operand.fmt(f),
            Expr::Not(inner) if matches!(**inner, Expr::All(_) | Expr::Any(_)) => {
                write!(f, "not ({inner})")
            }
            Expr::Not(inner) => write!(f, "not {inner}"),
            Expr::All(children) => write_joined(f, children, " and "),
            Expr::Any(children) => write_joined(f, children, " or "),
            Expr::Compare { left, op, right } => write!(f, "{left} {} {right}", op.symbol()),
            Expr::Member {
                subject,
                list,
                negated,
            } => {
                let not = if *negated { "not " } else { "" };
                write!(f, "{subject} {not}in (")?;
                for (index, item) in list.iter().enumerate() {
                    let separator = if index == 0 { "" } else { ", " };
                    write!(f, "{separator}{item}")?;
                }
                f.write_str(")")
            }
            Expr::Presence { subject, test } => write!(f, "{subject} {}", test.words()),
            Expr::Text {
                subject,
                op,
                needle,
            } => write!(f, "{subject} {} {needle}", op.words()),
        }
    }
}

fn write_joined(f: &mut fmt::Formatter<'_>, children: &[Expr], joiner: &str) -> fmt::Result {
    for (index, child) in children.iter().enumerate() {
        if index > 0 {
            f.write_str(joiner)?;
        }
        // Only `or` binds looser than `and`; `All` never holds an `All` (flattened).
        if matches!(child, Expr::Any(_)) {
            write!(f, "({child})")?;
        } else {
            write!(f, "{child}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operand::Property;

    fn flag() -> Expr {
        Expr::Flag(Operand::Property(Property::Duplicate))
    }

    #[test]
    fn joining_flattens_and_unwraps_single_children() {
        let nested = Expr::all(vec![flag(), Expr::all(vec![flag(), Expr::Const(true)])]);
        assert_eq!(nested, Expr::All(vec![flag(), flag(), Expr::Const(true)]));
        assert_eq!(Expr::any(vec![flag()]), flag());
        let mixed = Expr::any(vec![Expr::all(vec![flag(), flag()]), flag()]);
        assert_eq!(
            mixed.to_string(),
            "msg.duplicate and msg.duplicate or msg.duplicate"
        );
    }

    #[test]
    fn prints_parentheses_only_where_precedence_needs_them() {
        let or = Expr::any(vec![flag(), Expr::Const(false)]);
        let and = Expr::all(vec![or.clone(), Expr::Not(Box::new(or.clone()))]);
        assert_eq!(
            and.to_string(),
            "(msg.duplicate or false) and not (msg.duplicate or false)"
        );
        let not_and = Expr::Not(Box::new(Expr::all(vec![flag(), flag()])));
        assert_eq!(not_and.to_string(), "not (msg.duplicate and msg.duplicate)");
        let not_not = Expr::Not(Box::new(Expr::Not(Box::new(flag()))));
        assert_eq!(not_not.to_string(), "not not msg.duplicate");
    }
}
