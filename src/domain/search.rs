//! Fuzzy search over name, company, e-mail, phone and tags (SkimMatcherV2). Every
//! space-separated term must match; hits are ordered by match quality, then queue order.

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

use super::Lead;

/// What a search looks at for one row, prepared once per list.
#[derive(Debug, Clone)]
struct Entry {
    /// name, company, e-mail, phone and tags, lower-cased, tab-separated.
    hay: String,
    name: String,
    company: String,
}

#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    entries: Vec<Entry>,
}

/// One hit: the row, its score, and the matched char positions in its name and company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub row: usize,
    pub score: i64,
    pub name: Vec<usize>,
    pub company: Vec<usize>,
}

/// Every char of `needle` occurs in `hay` in order: a cheap test that rules out most rows
/// before the matcher scores the rest.
fn is_subsequence(needle: &str, hay: &str) -> bool {
    let mut it = hay.chars();
    needle.chars().all(|c| it.any(|h| h == c))
}

impl SearchIndex {
    pub fn build<'a>(leads: impl Iterator<Item = &'a Lead>) -> SearchIndex {
        let entries = leads
            .map(|l| {
                let company = l.company.clone().unwrap_or_default();
                let hay = format!(
                    "{}\t{}\t{}\t{}\t{}",
                    l.name,
                    company,
                    l.email.as_deref().unwrap_or(""),
                    l.phone.as_deref().unwrap_or(""),
                    l.tags.join(" ")
                )
                .to_lowercase();
                Entry {
                    hay,
                    name: l.name.clone(),
                    company,
                }
            })
            .collect();
        SearchIndex { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Searches all rows, or only `subset` (the hits of a shorter query, when narrowing).
    pub fn search(&self, query: &str, subset: Option<&[usize]>) -> Vec<Match> {
        let terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if terms.is_empty() {
            return Vec::new();
        }
        let matcher = SkimMatcherV2::default().ignore_case();
        let mut hits = Vec::new();
        let mut consider = |row: usize| {
            let Some(e) = self.entries.get(row) else {
                return;
            };
            if !terms.iter().all(|t| is_subsequence(t, &e.hay)) {
                return;
            }
            let mut score = 0;
            for t in &terms {
                match matcher.fuzzy_match(&e.hay, t) {
                    Some(s) => score += s,
                    None => return,
                }
            }
            hits.push(Match {
                row,
                score,
                name: Vec::new(),
                company: Vec::new(),
            });
        };
        match subset {
            Some(rows) => rows.iter().copied().for_each(&mut consider),
            None => (0..self.entries.len()).for_each(&mut consider),
        }
        hits.sort_by(|a, b| b.score.cmp(&a.score).then(a.row.cmp(&b.row)));
        hits
    }

    /// Fills in the matched positions of the name and company of `hits` (only those shown
    /// need them; the caller passes a slice).
    pub fn highlight(&self, query: &str, hits: &mut [Match]) {
        let matcher = SkimMatcherV2::default().ignore_case();
        for h in hits {
            let Some(e) = self.entries.get(h.row) else {
                continue;
            };
            for t in query.split_whitespace() {
                if let Some((_, pos)) = matcher.fuzzy_indices(&e.name, t) {
                    h.name.extend(pos);
                } else if let Some((_, pos)) = matcher.fuzzy_indices(&e.company, t) {
                    h.company.extend(pos);
                }
            }
        }
    }
}
