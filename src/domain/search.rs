//! Fuzzy search over name, company, e-mail, phone and tags.
//!
//! What matches is what SkimMatcherV2 matches: a term matches a field when its characters occur
//! in the field in order, case ignored (`fuzzy_match` of the lower-cased term in the lower-cased
//! field is `Some` exactly then; a test holds the two together). Case is folded before skim sees
//! it because skim folds ASCII only, and "иван" should find "Иван". Every space-separated term
//! must match, each within one field, so "an" does not match an "a" in the name and an "n" in
//! the company.
//!
//! Hits are ordered by how well they match, then in the view's own order (the queue's score
//! order): for each term, the name starting with it beats a word of the name starting with it,
//! which beats a word of another field starting with it, which beats the term anywhere in one
//! piece, which beats its letters scattered. SkimMatcherV2 also marks the matched characters
//! (`Highlighter`), for the rows on screen only.
//!
//! Why not order by SkimMatcherV2's score: it costs ~1.5 µs a row, and a 2-letter query matches
//! three rows in four, so scoring 100k rows takes 50+ ms, against a budget of 16 ms a keystroke
//! (benches/README.md). The classes above take one substring search per row, and they put the
//! hottest "Anna" first, where a fuzzy score ranks by letter spacing.

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use memchr::memmem::Finder;

use super::Lead;

/// Fields in a row's haystack are separated by this; the terms never hold it.
const SEP: char = '\u{1}';

/// How a term matches a row, best first. A row's rank is the sum over its terms.
const NAME_START: u32 = 5;
const NAME_WORD: u32 = 4;
const FIELD_WORD: u32 = 3;
const IN_ONE_PIECE: u32 = 2;
const SCATTERED: u32 = 1;

/// What a search looks at for one row.
struct Entry<'a> {
    /// Name, company, e-mail, phone and tags (each its own field), lower-cased, joined by `SEP`.
    hay: &'a str,
    /// Where the name ends in `hay`.
    name_end: usize,
}

/// The rows of a list as a search sees them, prepared once per list (or kept up to date row
/// by row: `set`). The rows' text lies in one string, so that a search reads memory in order;
/// a row set again gets its text at the end, and the string is packed again when more than
/// half of it is text no row uses.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    text: String,
    /// Where row `i` lies in `text`. Offsets are 32-bit, for memory (a million leads' text
    /// is ~80 MB); a row past 4 GiB of text would not be found, never misread.
    spans: Vec<Span>,
    /// The letters and digits anywhere in row `i` (`any_bit`): what every search reads
    /// first, so kept apart from where they stand (`marks`), which one-letter terms read.
    any: Vec<u64>,
    marks: Vec<Marks>,
    /// Bytes of `text` no row uses.
    unused: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    end: u32,
    /// Where the name ends, from `start`.
    name_end: u32,
}

impl Span {
    fn new(start: usize, end: usize, name_end: usize) -> Span {
        let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            start: at(start),
            end: at(end),
            name_end: at(name_end),
        }
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One hit: the row and how well it matches (higher is better; see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub row: usize,
    pub rank: u32,
}

/// A query's terms, lower-cased, each with its substring finder.
struct Term {
    text: String,
    /// The UTF-8 bytes of each char of `text`.
    chars: Vec<Vec<u8>>,
    finder: Finder<'static>,
    /// The bits (`any_bit`) of its letters and digits: a row without them all is no match.
    needs: u64,
    /// A term of one ASCII letter or digit: its bit, for matching by the row's `Marks` alone.
    single: Option<u64>,
}

/// The bit of an ASCII letter or digit (folded text: lower case), if it is one.
fn bit(c: char) -> Option<u64> {
    match c {
        'a'..='z' => Some(1 << (c as u32 - 'a' as u32)),
        '0'..='9' => Some(1 << (26 + c as u32 - '0' as u32)),
        _ => None,
    }
}

/// A bit for any letter or digit: its own for ASCII (`bit`), one of 28 shared by the others
/// ("и" and a few more): a row without a term's bits cannot match it.
fn any_bit(c: char) -> Option<u64> {
    bit(c).or_else(|| c.is_alphanumeric().then(|| 1 << (36 + c as u32 % 28)))
}

/// Which ASCII letters and digits a row holds, and where: what a one-letter term's match and
/// class need, so that it never reads the row's text.
#[derive(Debug, Clone, Copy, Default)]
struct Marks {
    /// The name's first char.
    first: u64,
    /// Starting a word of the name, or of another field.
    name_words: u64,
    field_words: u64,
}

impl Marks {
    /// The row's letters and digits anywhere (`any_bit`), and where they stand.
    fn of(hay: &str, name_end: usize) -> (u64, Marks) {
        let mut any = 0;
        let mut m = Marks::default();
        let mut prev: Option<char> = None;
        for (at, c) in hay.char_indices() {
            if let Some(b) = any_bit(c) {
                any |= b;
            }
            if let Some(b) = bit(c) {
                let starts_word = prev.is_none_or(|p| p == SEP || !p.is_alphanumeric());
                if at == 0 {
                    m.first |= b;
                } else if starts_word && at < name_end {
                    m.name_words |= b;
                } else if starts_word {
                    m.field_words |= b;
                }
            }
            prev = Some(c);
        }
        (any, m)
    }

    /// How a one-letter term with bit `b` matches the row whose letters anywhere are `any`
    /// (0: not at all), as `class` says.
    fn class(&self, any: u64, b: u64) -> u32 {
        if any & b == 0 {
            0
        } else if self.first & b != 0 {
            NAME_START
        } else if self.name_words & b != 0 {
            NAME_WORD
        } else if self.field_words & b != 0 {
            FIELD_WORD
        } else {
            IN_ONE_PIECE
        }
    }
}

fn terms(query: &str) -> Vec<Term> {
    query
        .split_whitespace()
        .map(|t| {
            let text = fold_term(t);
            let finder = Finder::new(text.as_bytes()).into_owned();
            let chars = text
                .chars()
                .map(|c| c.encode_utf8(&mut [0; 4]).as_bytes().to_vec())
                .collect();
            let mut letters = text.chars().map(bit);
            let single = match (letters.next(), letters.next()) {
                (Some(Some(b)), None) => Some(b),
                _ => None,
            };
            let needs = text.chars().filter_map(any_bit).fold(0, |a, b| a | b);
            Term {
                text,
                chars,
                finder,
                needs,
                single,
            }
        })
        .filter(|t| !t.text.is_empty())
        .collect()
}

/// A query term as the rows hold text: folded, without `SEP`.
fn fold_term(t: &str) -> String {
    fold(t).filter(|&c| c != SEP).collect()
}

/// `s` lower-cased char by char, so that char positions stay where they were.
fn fold(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().map(|c| c.to_lowercase().next().unwrap_or(c))
}

/// Every char of `term` occurs in order inside one `SEP`-separated field of `hay`. Compares
/// bytes: a char's UTF-8 bytes found in one piece are that char (UTF-8 is self-synchronising).
fn in_one_field(term: &Term, hay: &str) -> bool {
    let hay = hay.as_bytes();
    if term.text.is_ascii() {
        let n = term.text.as_bytes();
        let mut next = 0;
        for &h in hay {
            if h == SEP as u8 {
                next = 0;
            } else if h == n[next] {
                next += 1;
                if next == n.len() {
                    return true;
                }
            }
        }
        return false;
    }
    let chars = &term.chars;
    let (mut i, mut next) = (0, 0);
    while i < hay.len() {
        let h = hay[i];
        if h == SEP as u8 {
            next = 0;
        } else {
            let c = &chars[next];
            if h == c[0] && hay[i..].starts_with(c) {
                next += 1;
                if next == chars.len() {
                    return true;
                }
                i += c.len();
                continue;
            }
        }
        i += 1;
    }
    false
}

/// A word starts at byte `at` of `hay`: at a field's start or after a char that is not a
/// letter or digit ("anna.silva@", "Lindqvist-Okafor").
fn word_start(hay: &str, at: usize) -> bool {
    hay[..at]
        .chars()
        .next_back()
        .is_none_or(|c| c == SEP || !c.is_alphanumeric())
}

/// How `term` matches `e` (0: not at all).
fn class(term: &Term, e: &Entry) -> u32 {
    // The term in one piece lies within one field (it holds no `SEP`): most hits are found
    // so, and only a row without it is read again for the term's letters scattered.
    let mut best = 0;
    for at in term.finder.find_iter(e.hay.as_bytes()) {
        let class = match (at < e.name_end, word_start(e.hay, at)) {
            _ if at == 0 => return NAME_START,
            (true, true) => NAME_WORD,
            (false, true) => FIELD_WORD,
            _ => IN_ONE_PIECE,
        };
        best = best.max(class);
        // Only the first place can start the name, and the name comes first: past it, no
        // later place does better than a word of another field.
        if best >= NAME_WORD || (best == FIELD_WORD && at >= e.name_end) {
            break;
        }
    }
    if best == 0 && in_one_field(term, e.hay) {
        return SCATTERED;
    }
    best
}

/// Rows per thread below which a search stays on one thread (a thread costs ~20 µs to start).
const PARALLEL_FROM: usize = 4_000;

impl SearchIndex {
    pub fn build<'a>(leads: impl Iterator<Item = &'a Lead>) -> SearchIndex {
        let mut index = SearchIndex::default();
        for l in leads {
            index.push(l);
        }
        index
    }

    /// Adds a row for `l` at the end; returns its number.
    pub fn push(&mut self, l: &Lead) -> usize {
        let span = self.append(l);
        self.spans.push(span);
        let (any, marks) = self.marks_of(span);
        self.any.push(any);
        self.marks.push(marks);
        self.spans.len() - 1
    }

    /// Row `row` now stands for `l`.
    pub fn set(&mut self, row: usize, l: &Lead) {
        let Some(&old) = self.spans.get(row) else {
            return;
        };
        self.unused += old.range().len();
        let span = self.append(l);
        self.spans[row] = span;
        (self.any[row], self.marks[row]) = self.marks_of(span);
        if self.unused > self.text.len() / 2 {
            self.pack();
        }
    }

    fn marks_of(&self, span: Span) -> (u64, Marks) {
        self.text
            .get(span.range())
            .map_or_else(Default::default, |hay| {
                Marks::of(hay, span.name_end as usize)
            })
    }

    /// Reserves room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.spans.reserve(rows);
        self.any.reserve(rows);
        self.marks.reserve(rows);
    }

    /// Row `row` stands for nothing any more (a lead merged away): it matches no query.
    pub fn clear(&mut self, row: usize) {
        let Some(&old) = self.spans.get(row) else {
            return;
        };
        self.unused += old.range().len();
        self.spans[row] = Span::default();
        self.any[row] = 0;
        self.marks[row] = Marks::default();
    }

    /// `l`'s text at the end of `text`: where it lies and where its name ends.
    fn append(&mut self, l: &Lead) -> Span {
        let start = self.text.len();
        self.text.extend(fold(&l.name).filter(|&c| c != SEP));
        let name_end = self.text.len() - start;
        for field in [
            l.company.as_deref().unwrap_or(""),
            l.email.as_deref().unwrap_or(""),
            l.phone.as_deref().unwrap_or(""),
        ]
        .into_iter()
        .chain(l.tags.iter().map(String::as_str))
        {
            self.text.push(SEP);
            self.text.extend(fold(field).filter(|&c| c != SEP));
        }
        Span::new(start, self.text.len(), name_end)
    }

    /// Drops the text no row uses.
    fn pack(&mut self) {
        let mut text = String::with_capacity(self.text.len() - self.unused);
        for span in &mut self.spans {
            let start = text.len();
            text.push_str(self.text.get(span.range()).unwrap_or(""));
            *span = Span::new(start, text.len(), span.name_end as usize);
        }
        self.text = text;
        self.unused = 0;
    }

    fn entry(&self, row: usize) -> Option<Entry<'_>> {
        let span = self.spans.get(row)?;
        Some(Entry {
            hay: self.text.get(span.range())?,
            name_end: span.name_end as usize,
        })
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Searches all rows, or only `subset` (the hits of a shorter query, when narrowing).
    /// Best matches first, then row order.
    ///
    /// Big lists are split among the machine's cores; the hits and their order are the same
    /// either way.
    pub fn search(&self, query: &str, subset: Option<&[usize]>) -> Vec<Match> {
        let mut hits = self.matching(query, subset, |_| true);
        hits.sort_unstable_by(|a, b| b.rank.cmp(&a.rank).then(a.row.cmp(&b.row)));
        hits
    }

    /// The rows (all, or `subset`) that `keep` keeps and the query matches, in row order,
    /// unsorted by rank. A row lacking a term's letters is turned away first (8 bytes a row
    /// read), then `keep` is asked: the text of a row it drops is never read.
    pub fn matching(
        &self,
        query: &str,
        subset: Option<&[usize]>,
        keep: impl Fn(usize) -> bool + Sync,
    ) -> Vec<Match> {
        let terms = terms(query);
        if terms.is_empty() {
            return Vec::new();
        }
        let look = |row: usize| {
            let any = self.any.get(row).copied().unwrap_or(0);
            if terms.iter().all(|t| any & t.needs == t.needs) && keep(row) {
                self.hit(&terms, row)
            } else {
                None
            }
        };
        match subset {
            None => crate::par::over_ranges(self.len(), PARALLEL_FROM, |rows| {
                rows.filter_map(look).collect()
            }),
            Some(subset) => crate::par::over_ranges(subset.len(), PARALLEL_FROM, |at| {
                subset[at].iter().filter_map(|&row| look(row)).collect()
            }),
        }
    }

    /// Whether `row` matches every term, and how well.
    fn hit(&self, terms: &[Term], row: usize) -> Option<Match> {
        let any = *self.any.get(row)?;
        // The letters and digits first: most rows lacking one are turned away here, and a
        // one-letter term is matched and classed with no look at the text.
        if terms.iter().any(|t| any & t.needs != t.needs) {
            return None;
        }
        let mut rank = 0;
        let mut entry = None;
        for t in terms {
            let c = match t.single {
                Some(b) => self.marks.get(row)?.class(any, b),
                None => class(t, entry.get_or_insert(self.entry(row)?)),
            };
            match c {
                0 => return None,
                c => rank += c,
            }
        }
        Some(Match { row, rank })
    }
}

/// Marks the chars a query matches in the rows on screen, as SkimMatcherV2 aligns them. Made
/// once per frame; `marks` runs per row drawn.
pub struct Highlighter {
    matcher: SkimMatcherV2,
    terms: Vec<String>,
}

impl Highlighter {
    pub fn new(query: &str) -> Highlighter {
        Highlighter {
            matcher: SkimMatcherV2::default().respect_case(),
            terms: query
                .split_whitespace()
                .map(fold_term)
                .filter(|t| !t.is_empty())
                .collect(),
        }
    }

    /// The chars of `name` and of `company` (indexes into `chars()`) the terms match: each term
    /// in the name if it matches there, else in the company.
    pub fn marks(&self, name: &str, company: &str) -> (Vec<usize>, Vec<usize>) {
        let name: String = fold(name).collect();
        let company: String = fold(company).collect();
        let (mut in_name, mut in_company) = (Vec::new(), Vec::new());
        for t in &self.terms {
            if let Some((_, pos)) = self.matcher.fuzzy_indices(&name, t) {
                in_name.extend(pos);
            } else if let Some((_, pos)) = self.matcher.fuzzy_indices(&company, t) {
                in_company.extend(pos);
            }
        }
        (in_name, in_company)
    }
}
