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
    if needle.is_ascii() {
        // An ASCII byte never occurs inside a multi-byte UTF-8 character: bytes will do.
        let mut it = hay.bytes();
        return needle.bytes().all(|c| it.any(|h| h == c));
    }
    let mut it = hay.chars();
    needle.chars().all(|c| it.any(|h| h == c))
}

/// Rows per thread below which a search stays on one thread (a thread costs ~20 µs to start).
const PARALLEL_FROM: usize = 2_000;

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
    ///
    /// The rows are split among the machine's cores: SkimMatcherV2 costs ~1.5 µs a row over
    /// this haystack and a short query matches most rows, so one core takes 100+ ms at 100k
    /// rows (benches/README.md). The hits and their order are the same either way.
    pub fn search(&self, query: &str, subset: Option<&[usize]>) -> Vec<Match> {
        let terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if terms.is_empty() {
            return Vec::new();
        }
        let all: Vec<usize>;
        let rows = match subset {
            Some(rows) => rows,
            None => {
                all = (0..self.entries.len()).collect();
                &all
            }
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = rows.len().div_ceil(threads).max(PARALLEL_FROM);
        let mut hits = if chunk >= rows.len() {
            self.search_rows(&terms, rows)
        } else {
            std::thread::scope(|scope| {
                let parts: Vec<_> = rows
                    .chunks(chunk)
                    .map(|part| scope.spawn(|| self.search_rows(&terms, part)))
                    .collect();
                let mut hits = Vec::new();
                for part in parts {
                    hits.extend(part.join().expect("a search thread panicked"));
                }
                hits
            })
        };
        hits.sort_unstable_by(|a, b| b.score.cmp(&a.score).then(a.row.cmp(&b.row)));
        hits
    }

    /// The hits among `rows`, unordered.
    fn search_rows(&self, terms: &[String], rows: &[usize]) -> Vec<Match> {
        // The haystack and the terms are both lower-cased already: matching case-sensitively
        // gives the same hits and scores, and skips a case fold per character compared.
        let matcher = SkimMatcherV2::default().respect_case();
        let mut hits = Vec::new();
        'rows: for &row in rows {
            let Some(e) = self.entries.get(row) else {
                continue;
            };
            if !terms.iter().all(|t| is_subsequence(t, &e.hay)) {
                continue;
            }
            let mut score = 0;
            for t in terms {
                match matcher.fuzzy_match(&e.hay, t) {
                    Some(s) => score += s,
                    None => continue 'rows,
                }
            }
            hits.push(Match {
                row,
                score,
                name: Vec::new(),
                company: Vec::new(),
            });
        }
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
