//! "Did you mean …?": the closest known word to a misspelt one.
//!
//! Distances are counted in characters, ignoring case, with a swap of two neighbouring
//! characters counting as one edit (the most common typing slip). A word is suggested only
//! when it is within a third of its length, so unrelated names are never proposed.

/// The candidate closest to `word`, if one is close enough to be what was meant.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word: Vec<char> = word.to_lowercase().chars().collect();
    candidates
        .into_iter()
        .map(|candidate| {
            let other: Vec<char> = candidate.to_lowercase().chars().collect();
            let limit = (word.len().max(other.len()) / 3).max(1);
            (distance(&word, &other), limit, candidate)
        })
        .filter(|(distance, limit, _)| distance <= limit)
        .min_by_key(|(distance, _, _)| *distance)
        .map(|(_, _, candidate)| candidate)
}

/// A hint for an unknown word: the closest known one, or the list of known ones.
pub(crate) fn hint<'a>(word: &str, known: impl IntoIterator<Item = &'a str> + Clone) -> String {
    if let Some(close) = closest(word, known.clone()) {
        return format!("did you mean `{close}`?");
    }
    let known: Vec<&str> = known.into_iter().collect();
    if known.is_empty() {
        return "nothing else is allowed here".to_owned();
    }
    format!("expected one of: {}", known.join(", "))
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours, each costing one.
fn distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    for (j, cell) in rows.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        rows[i * width] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[(i - 1) * width + j] + 1)
                .min(rows[i * width + j - 1] + 1)
                .min(rows[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[(i - 2) * width + j - 2] + 1);
            }
            rows[i * width + j] = best;
        }
    }
    rows[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["pool", "queue_limit", "retry", "name"];
        assert_eq!(closest("polo", keys), Some("pool"));
        assert_eq!(closest("retyr", keys), Some("retry"));
        assert_eq!(closest("queue_limt", keys), Some("queue_limit"));
        assert_eq!(closest("colour", keys), None);
        assert_eq!(closest("Router", ["router"]), Some("router"));
    }

    #[test]
    fn hints_list_the_known_words_when_nothing_is_close() {
        assert_eq!(hint("zz", ["a", "b"]), "expected one of: a, b");
        assert_eq!(hint("poll", ["pool"]), "did you mean `pool`?");
        assert_eq!(hint("x", []), "nothing else is allowed here");
    }
}
