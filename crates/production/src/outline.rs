//! The outline: the production file's YAML node tree, straight from the parser's events.
//!
//! Owns YAML syntax checking and everything that needs the document as written rather than
//! as Rust types: syntax errors (a tab in indentation is named with its own line and
//! column), repeated keys at any depth (both lines named), the nesting limit, and node
//! positions. Every node keeps its 1-based position and its byte offset in the original
//! text; scalars keep their text before interpolation and their quoting style.
//!
//! Invariant: an [`Outline`] exists only for a file that is one syntactically valid YAML
//! document nested at most [`MAX_DEPTH`] levels and holding at most [`MAX_NODES`] nodes;
//! otherwise [`Outline::parse`] returns the one fatal diagnostic and nothing else can be
//! checked. A syntax error on a line that uses `${…}` comes with a hint to quote the value,
//! since a plain `${` cannot be written inside `{ … }` or `[ … ]`.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, ScanError, StructureStyle};

use crate::diagnostic::{Diagnostic, Diagnostics, Location, Source};

/// Deepest nesting accepted; serde-saphyr's default budget stops at the same depth, and a
/// production needs six at most.
pub(crate) const MAX_DEPTH: usize = 64;

/// Most scalars, lists and mappings accepted: serde-saphyr's default budget. Checked here,
/// once for the whole file, so that a file too large is one error at one place rather than
/// one per part read (each read would stop at a different node).
pub(crate) const MAX_NODES: usize = 250_000;

/// Index of a node in the outline.
pub(crate) type NodeId = usize;

/// A parsed production file.
#[derive(Debug)]
pub(crate) struct Outline {
    nodes: Vec<Node>,
    root: Option<NodeId>,
    anchors: HashMap<usize, NodeId>,
    /// The first byte of every node that is not empty, sorted.
    starts: Vec<usize>,
    /// Whether a CR alone (not before an LF) ends a line somewhere.
    lone_cr: bool,
}

/// One YAML node and where it is.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) at: Location,
    /// Byte offset of its first character.
    pub(crate) offset: usize,
    /// Byte offset just after its last character (a comment after it not included).
    pub(crate) end: usize,
    pub(crate) kind: NodeKind,
}

/// What a node is.
#[derive(Debug)]
pub(crate) enum NodeKind {
    Scalar(Scalar),
    Seq(Vec<NodeId>),
    Map(Vec<(NodeId, NodeId)>),
    /// `*name`, by anchor id; [`Outline::resolve`] follows it.
    Alias(usize),
}

/// A scalar as written: its text after YAML escapes, before interpolation.
#[derive(Debug)]
pub(crate) struct Scalar {
    pub(crate) value: String,
    pub(crate) style: ScalarStyle,
}

impl Node {
    pub(crate) fn scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    pub(crate) fn entries(&self) -> Option<&[(NodeId, NodeId)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub(crate) fn elements(&self) -> Option<&[NodeId]> {
        match &self.kind {
            NodeKind::Seq(elements) => Some(elements),
            _ => None,
        }
    }

    /// A plain `~`, `null` or nothing at all: YAML's null, which a production treats as
    /// "not given".
    pub(crate) fn is_null(&self) -> bool {
        self.scalar().is_some_and(|scalar| {
            scalar.style == ScalarStyle::Plain
                && matches!(scalar.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
        })
    }

    /// A plain scalar's text, or a quoted one's.
    pub(crate) fn text(&self) -> Option<&str> {
        self.scalar().map(|scalar| scalar.value.as_str())
    }
}

impl Outline {
    /// Parses one YAML document.
    ///
    /// # Errors
    ///
    /// The one diagnostic that stops everything: a syntax error, a second document, or
    /// nesting deeper than [`MAX_DEPTH`].
    pub(crate) fn parse(source: &Source) -> Result<Outline, Diagnostic> {
        let mut builder = Builder::new(source);
        let mut parser = Parser::new_from_str(&source.text);

        while let Some(next) = parser.next_event() {
            match next {
                Ok((event, span)) => {
                    if builder.event(event, span.start, span.end)? {
                        break;
                    }
                }
                Err(error) => return Err(syntax_error(source, &error)),
            }
        }
        Ok(builder.finish())
    }

    /// The document's top node; `None` for an empty file.
    pub(crate) fn root(&self) -> Option<&Node> {
        self.root.map(|id| self.resolve(id))
    }

    /// A node, following an alias to its anchored node.
    pub(crate) fn resolve(&self, id: NodeId) -> &Node {
        let node = &self.nodes[id];
        match node.kind {
            NodeKind::Alias(anchor) => match self.anchors.get(&anchor) {
                Some(&target) => &self.nodes[target],
                None => node,
            },
            _ => node,
        }
    }

    /// Where the first node that is not empty starts, at or after byte `offset`.
    pub(crate) fn next_start(&self, offset: usize) -> Option<usize> {
        let index = self.starts.partition_point(|&start| start < offset);
        self.starts.get(index).copied()
    }

    /// Whether a CR not followed by LF ends a line: YAML counts it as a line break, the
    /// shortened copies of [`crate::document`] do not, so they cannot be used.
    pub(crate) fn has_lone_cr(&self) -> bool {
        self.lone_cr
    }

    /// A node as written (an alias stays an alias).
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Whether `node` or anything inside it is an alias.
    pub(crate) fn has_alias(&self, node: &Node) -> bool {
        let mut pending = vec![node];
        while let Some(node) = pending.pop() {
            match &node.kind {
                NodeKind::Alias(_) => return true,
                NodeKind::Scalar(_) => {}
                NodeKind::Seq(elements) => {
                    pending.extend(elements.iter().map(|&id| &self.nodes[id]))
                }
                NodeKind::Map(entries) => pending.extend(
                    entries
                        .iter()
                        .flat_map(|&(key, value)| [&self.nodes[key], &self.nodes[value]]),
                ),
            }
        }
        false
    }

    /// The key and value nodes of a mapping's entries, aliases followed.
    pub(crate) fn entries<'a>(
        &'a self,
        map: &'a Node,
    ) -> impl Iterator<Item = (&'a Node, &'a Node)> {
        map.entries()
            .unwrap_or(&[])
            .iter()
            .map(|&(key, value)| (self.resolve(key), self.resolve(value)))
    }

    /// The value of `key` in a mapping (the last one if the key is repeated).
    pub(crate) fn get<'a>(&'a self, map: &'a Node, key: &str) -> Option<&'a Node> {
        self.entries(map)
            .filter(|(name, _)| name.text() == Some(key))
            .map(|(_, value)| value)
            .last()
    }

    /// The value of `key`, unless it is missing or null.
    pub(crate) fn given<'a>(&'a self, map: &'a Node, key: &str) -> Option<&'a Node> {
        self.get(map, key).filter(|node| !node.is_null())
    }

    /// The elements of a sequence, aliases followed.
    pub(crate) fn elements<'a>(&'a self, seq: &'a Node) -> impl Iterator<Item = &'a Node> {
        seq.elements()
            .unwrap_or(&[])
            .iter()
            .map(|&id| self.resolve(id))
    }

    /// Every scalar used as a value (not as a key), as written.
    pub(crate) fn value_scalars(&self) -> impl Iterator<Item = (&Node, &Scalar)> {
        let mut is_key = vec![false; self.nodes.len()];
        for node in &self.nodes {
            for &(key, _) in node.entries().unwrap_or(&[]) {
                is_key[key] = true;
            }
        }
        self.nodes
            .iter()
            .zip(is_key)
            .filter(|(_, is_key)| !is_key)
            .filter_map(|(node, _)| node.scalar().map(|scalar| (node, scalar)))
    }

    /// Keys written twice in one mapping, anywhere in the document: YAML requires unique
    /// keys, and a silent "last one wins" hides mistakes (B42: a second `pool:`).
    pub(crate) fn repeated_keys(&self, source: &Source) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        for node in &self.nodes {
            let mut seen: HashMap<&str, Location> = HashMap::new();
            for &(key, _) in node.entries().unwrap_or(&[]) {
                let key = &self.nodes[key];
                let Some(name) = key.text() else { continue };
                match seen.get(name) {
                    Some(&first) => diagnostics.push(repeated_key(source, name, first, key.at)),
                    None => {
                        seen.insert(name, key.at);
                    }
                }
            }
        }
        diagnostics
    }
}

fn repeated_key(source: &Source, name: &str, first: Location, again: Location) -> Diagnostic {
    let lines = if first.line == again.line {
        format!("twice on line {}", first.line)
    } else {
        format!("at lines {} and {}", first.line, again.line)
    };
    Diagnostic::new(
        &source.name,
        again,
        format!("duplicate key `{name}` {lines}"),
    )
    .with_hint("keep one of them: YAML keys must be unique within a mapping")
}

/// An open sequence or mapping whose children are still arriving.
struct Open {
    id: NodeId,
    map: bool,
    flow: bool,
    children: Vec<NodeId>,
}

/// Turns parser events into nodes.
struct Builder<'s> {
    source: &'s Source,
    nodes: Vec<Node>,
    open: Vec<Open>,
    root: Option<NodeId>,
    anchors: HashMap<usize, NodeId>,
    documents: usize,
    /// Scalars, lists and mappings so far (aliases are not nodes of their own).
    counted: usize,
}

impl<'s> Builder<'s> {
    fn new(source: &'s Source) -> Builder<'s> {
        Builder {
            source,
            nodes: Vec::new(),
            open: Vec::new(),
            root: None,
            anchors: HashMap::new(),
            documents: 0,
            counted: 0,
        }
    }

    /// Takes one event; true at the end of the stream.
    fn event(&mut self, event: Event<'_>, start: Marker, end: Marker) -> Result<bool, Diagnostic> {
        match event {
            Event::StreamEnd => return Ok(true),
            Event::DocumentStart(..) => self.document(start)?,
            Event::Scalar(value, style, anchor, _) => {
                self.count(start)?;
                let scalar = Scalar {
                    value: value.into_owned(),
                    style,
                };
                self.node(NodeKind::Scalar(scalar), anchor, start, end);
            }
            Event::Alias(anchor) => {
                self.node(NodeKind::Alias(anchor), 0, start, end);
            }
            Event::SequenceStart(style, anchor, _) => {
                self.open(NodeKind::Seq(Vec::new()), style, anchor, start)?;
            }
            Event::MappingStart(style, anchor, _) => {
                self.open(NodeKind::Map(Vec::new()), style, anchor, start)?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(end),
            _ => {}
        }
        Ok(false)
    }

    fn document(&mut self, start: Marker) -> Result<(), Diagnostic> {
        self.documents += 1;
        if self.documents == 1 {
            return Ok(());
        }
        let message = "a second YAML document: a production file holds exactly one";
        Err(Diagnostic::new(&self.source.name, location(start), message)
            .with_hint("remove the `---` line and what follows, or move it to its own file"))
    }

    /// Counts one more node; refuses the file past [`MAX_NODES`].
    fn count(&mut self, start: Marker) -> Result<(), Diagnostic> {
        self.counted += 1;
        if self.counted <= MAX_NODES {
            return Ok(());
        }
        let message = format!(
            "the production file is too large: more than {MAX_NODES} values (scalars, lists \
             and mappings)"
        );
        let hint = "a production needs a few thousand at most; is this the right file?";
        Err(Diagnostic::new(&self.source.name, location(start), message).with_hint(hint))
    }

    /// Starts a sequence or mapping.
    fn open(
        &mut self,
        kind: NodeKind,
        style: StructureStyle,
        anchor: usize,
        start: Marker,
    ) -> Result<(), Diagnostic> {
        self.count(start)?;
        if self.open.len() >= MAX_DEPTH {
            let message = format!("nested more than {MAX_DEPTH} levels deep");
            return Err(Diagnostic::new(&self.source.name, location(start), message));
        }
        let map = matches!(kind, NodeKind::Map(_));
        let id = self.node(kind, anchor, start, start);
        self.open.push(Open {
            id,
            map,
            flow: style == StructureStyle::Flow,
            children: Vec::new(),
        });
        Ok(())
    }

    /// Adds a node and attaches it to the open collection (or makes it the root).
    fn node(&mut self, kind: NodeKind, anchor: usize, start: Marker, end: Marker) -> NodeId {
        let id = self.nodes.len();
        let offset = start.byte_offset().unwrap_or(0);
        self.nodes.push(Node {
            at: location(start),
            offset,
            end: end.byte_offset().unwrap_or(offset),
            kind,
        });
        if anchor != 0 {
            self.anchors.insert(anchor, id);
        }
        match self.open.last_mut() {
            Some(open) => open.children.push(id),
            None => self.root = self.root.or(Some(id)),
        }
        id
    }

    /// Ends the open collection. A flow collection ends with its bracket; a block one with
    /// its last child (its end event comes only with the next token, maybe lines later).
    fn close(&mut self, end: Marker) {
        let Some(open) = self.open.pop() else { return };
        let node_end = if open.flow {
            end.byte_offset().unwrap_or(0)
        } else {
            let last = open
                .children
                .iter()
                .map(|&child| self.nodes[child].end)
                .max();
            last.unwrap_or(self.nodes[open.id].offset)
        };
        let node = &mut self.nodes[open.id];
        node.end = node_end.max(node.offset);
        node.kind = if open.map {
            let pairs = open.children.chunks_exact(2);
            NodeKind::Map(pairs.map(|pair| (pair[0], pair[1])).collect())
        } else {
            NodeKind::Seq(open.children)
        };
    }

    fn finish(self) -> Outline {
        // An empty value (`key:` and nothing) starts where the mapping holding it ends; it
        // is part of that mapping, never the start of what follows.
        let mut starts: Vec<usize> = (self.nodes.iter())
            .filter(|node| node.end > node.offset)
            .map(|node| node.offset)
            .collect();
        starts.sort_unstable();
        let text = self.source.text.as_bytes();
        let lone_cr = text
            .iter()
            .enumerate()
            .any(|(at, &byte)| byte == b'\r' && text.get(at + 1) != Some(&b'\n'));
        Outline {
            nodes: self.nodes,
            root: self.root,
            anchors: self.anchors,
            starts,
            lone_cr,
        }
    }
}

/// The parser counts lines from 1 and columns from 0.
fn location(marker: Marker) -> Location {
    Location::new(
        u32::try_from(marker.line()).unwrap_or(u32::MAX),
        u32::try_from(marker.col().saturating_add(1)).unwrap_or(u32::MAX),
    )
}

/// A syntax error in compiler form. The parser notices a tab in indentation only after it,
/// sometimes a line early or late; the tab itself is what the author must find, so it is
/// named with its own position.
fn syntax_error(source: &Source, error: &ScanError) -> Diagnostic {
    let info = error.info();
    let reason = info.lines().next().unwrap_or("invalid YAML");
    let at = location(*error.marker());

    if reason.contains("tab")
        && let Some(tab) = indentation_tab(&source.text, at.line)
    {
        return Diagnostic::new(&source.name, tab, "tab character in indentation")
            .with_hint("YAML indents with spaces only; replace the tab with spaces");
    }
    let diagnostic = Diagnostic::new(&source.name, at, format!("invalid YAML: {reason}"));
    match quoting_hint(&source.text, at, reason) {
        Some(hint) => diagnostic.with_hint(hint),
        None => diagnostic,
    }
}

/// For a syntax error on a line that uses `${…}`: YAML does not allow `{` or `}` in a plain
/// value inside `{ … }` or `[ … ]`, so such a value must be quoted. The hint quotes the
/// author's own value (the last `${` up to the error, which the parser meets just after
/// it) when it can be picked out of the line.
fn quoting_hint(text: &str, at: Location, reason: &str) -> Option<String> {
    let index = usize::try_from(at.line).ok()?.checked_sub(1)?;
    let line = text.lines().nth(index)?;
    let column = usize::try_from(at.column).ok()?;
    let upto = line
        .char_indices()
        .nth(column)
        .map_or(line.len(), |(byte, _)| byte);
    let reference = line[..upto].rfind("${").or_else(|| line.find("${"))?;
    let (collection, example) = if reason.contains("flow sequence") {
        ("in a [ … ] list", "'${DIR}/in'")
    } else if reason.contains("flow mapping") {
        ("in a { … } mapping", "path: '${DIR}/in'")
    } else {
        ("in a { … } mapping or [ … ] list", "path: '${DIR}/in'")
    };
    let quoted = written_value(line, reference).unwrap_or_else(|| example.to_owned());
    Some(format!(
        "{collection}, quote a value that uses ${{…}}: {quoted}"
    ))
}

/// The value around the `${` at byte `reference` of a flow collection's line, quoted, with
/// its key when it has one: `path: '${OUT}/x'`.
fn written_value(line: &str, reference: usize) -> Option<String> {
    let before = &line[..reference];
    let separator = before.rfind([',', '{', '[']).map_or(0, |at| at + 1);
    let (key, value_start) = match before[separator..].rfind(": ") {
        Some(colon) => {
            let key = before[separator..separator + colon].trim();
            (Some(key), separator + colon + 2)
        }
        None => (None, separator),
    };

    let mut depth = 0usize;
    let mut end = line.len();
    for (index, c) in line.char_indices().skip_while(|(at, _)| *at < reference) {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            ',' | '}' | ']' => {
                end = index;
                break;
            }
            '#' if line[..index].ends_with([' ', '\t']) => {
                end = index;
                break;
            }
            _ => {}
        }
    }
    let value = line.get(value_start..end)?.trim();
    let quoted = format!("'{}'", value.replace('\'', "''"));
    match key {
        Some(key) if !key.is_empty() => Some(format!("{key}: {quoted}")),
        _ => Some(quoted),
    }
}

/// The first tab among the leading blanks of `line` or the line after it.
fn indentation_tab(text: &str, line: u32) -> Option<Location> {
    let first = usize::try_from(line).ok()?.checked_sub(1)?;
    text.lines()
        .enumerate()
        .skip(first)
        .take(2)
        .find_map(|(index, content)| {
            let blanks = content.chars().take_while(|c| *c == ' ' || *c == '\t');
            let column = blanks.into_iter().position(|c| c == '\t')?;
            Some(Location::new(u32::try_from(index + 1).ok()?, 1).right(column))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outline(text: &str) -> Result<Outline, Diagnostic> {
        Outline::parse(&Source::new("t.yaml", text))
    }

    #[test]
    fn keeps_positions_and_text_as_written() {
        let outline = outline("a: '0640'\nb:\n  - NO\n").unwrap();
        let root = outline.root().unwrap();
        let a = outline.get(root, "a").unwrap();
        assert_eq!(a.at, Location::new(1, 4));
        assert_eq!(a.offset, 3);
        assert_eq!(a.scalar().unwrap().style, ScalarStyle::SingleQuoted);
        assert_eq!(a.text(), Some("0640"));
        let b = outline.get(root, "b").unwrap();
        let first = outline.elements(b).next().unwrap();
        assert_eq!((first.at, first.text()), (Location::new(3, 5), Some("NO")));
    }

    #[test]
    fn names_a_tab_in_indentation() {
        let error = outline("a:\n  b: 1\n\tc: 2\n").unwrap_err();
        assert_eq!(error.at, Location::new(3, 1));
        assert_eq!(error.message, "tab character in indentation");
        let error = outline("a:\n  b:\n  \tc: 2\n").unwrap_err();
        assert_eq!(error.at, Location::new(3, 3));
    }

    #[test]
    fn accepts_a_tab_between_tokens() {
        assert!(outline("a: 1\t# one\n").is_ok());
    }

    #[test]
    fn reports_repeated_keys_with_both_lines() {
        let source = Source::new("t.yaml", "a:\n  x: 1\n  y: 2\n  x: 3\n");
        let outline = Outline::parse(&source).unwrap();
        let repeated = outline.repeated_keys(&source);
        assert_eq!(repeated.len(), 1);
        assert_eq!(
            repeated.to_string(),
            "t.yaml:4:3: duplicate key `x` at lines 2 and 4\n  \
             hint: keep one of them: YAML keys must be unique within a mapping"
        );
    }

    #[test]
    fn follows_aliases() {
        let outline = outline("a: &s {k: v}\nb: *s\n").unwrap();
        let root = outline.root().unwrap();
        let b = outline.get(root, "b").unwrap();
        assert_eq!(outline.get(b, "k").and_then(Node::text), Some("v"));
    }

    #[test]
    fn refuses_a_second_document_and_deep_nesting() {
        assert_eq!(
            outline("a: 1\n---\nb: 2\n").unwrap_err().at,
            Location::new(2, 1)
        );
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(outline(&deep).is_err());
    }

    #[test]
    fn a_reference_in_a_flow_collection_gets_a_quoting_hint() {
        let error = outline("settings: { path: ${OUT}/x, mode: '0640' }\n").unwrap_err();
        assert_eq!(
            error.hint.as_deref(),
            Some("in a { … } mapping, quote a value that uses ${…}: path: '${OUT}/x'")
        );
        let error = outline("targets: [a, /b/${X:-{y\\}}/c]\n").unwrap_err();
        assert_eq!(
            error.hint.as_deref(),
            Some("in a [ … ] list, quote a value that uses ${…}: '/b/${X:-{y\\}}/c'")
        );
        let error = outline("s: { a: '${X}', b: ${Y}/z }\n").unwrap_err();
        assert_eq!(
            error.hint.as_deref(),
            Some("in a { … } mapping, quote a value that uses ${…}: b: '${Y}/z'")
        );
        let error = outline("s: {\n  p: it's ${A} # note\n}\n").unwrap_err();
        assert_eq!(
            error.hint.as_deref(),
            Some("in a { … } mapping, quote a value that uses ${…}: p: 'it''s ${A}'")
        );
        assert!(
            outline("s: { p: x y z }\n  q: 1\n")
                .unwrap_err()
                .hint
                .is_none()
        );
    }

    #[test]
    fn too_many_nodes_is_one_error() {
        let text = format!("a: [{}]\n", vec!["1"; MAX_NODES].join(","));
        let error = outline(&text).unwrap_err();
        // The mapping, `a` and the list are the first three nodes.
        let column = 5 + 2 * (u32::try_from(MAX_NODES).unwrap() - 3);
        assert_eq!(error.at, Location::new(1, column));
        assert!(
            error
                .message
                .starts_with("the production file is too large")
        );
        assert!(outline(&format!("[{}]", vec!["1"; MAX_NODES - 1].join(","))).is_ok());
    }

    #[test]
    fn an_empty_file_has_no_root() {
        assert!(outline("# nothing\n").unwrap().root().is_none());
    }
}
