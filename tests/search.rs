//! Search: what matches is what SkimMatcherV2 matches (each term within one field), the best
//! matches come first and the queue order decides among equals, and a search split among
//! threads finds what one thread finds, in the same order.

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use leadq::domain::search::{Match, SearchIndex};
use leadq::domain::{Lead, NewLead};

const FIRST: &[&str] = &["Anna", "Maria", "Иван", "Jonas", "Sofia", "Liam"];
const LAST: &[&str] = &["Silva", "Garcia", "Петров", "Lindqvist", "Okafor"];
const COMPANIES: &[&str] = &["Acme", "Northwind", "Globex", "Массив", "Hooli"];

fn leads(n: usize) -> Vec<Lead> {
    (0..n)
        .map(|i| {
            let request = NewLead {
                name: format!("{} {}", FIRST[i % FIRST.len()], LAST[i % LAST.len()]),
                email: Some(format!("lead{i}@example{}.com", i % 7)),
                phone: Some(format!("+1 202 555 {:04}", i % 10_000)),
                company: Some(COMPANIES[i % COMPANIES.len()].into()),
                tags: if i % 3 == 0 {
                    vec!["vip".into()]
                } else {
                    vec![]
                },
                ..NewLead::default()
            };
            Lead::from_request(i as u64 + 1, &request, 0)
        })
        .collect()
}

fn key(m: &Match) -> (u32, usize) {
    (m.rank, m.row)
}

fn lead(i: u64, name: &str, company: &str, email: &str) -> Lead {
    let request = NewLead {
        name: name.into(),
        company: Some(company.into()),
        email: Some(email.into()),
        ..NewLead::default()
    };
    Lead::from_request(i, &request, 0)
}

fn rows(index: &SearchIndex, query: &str) -> Vec<usize> {
    index.search(query, None).iter().map(|m| m.row).collect()
}

/// A lead's fields other than its name, as a search reads them.
fn other_fields(l: &Lead) -> Vec<String> {
    [
        l.company.clone().unwrap_or_default(),
        l.email.clone().unwrap_or_default(),
        l.phone.clone().unwrap_or_default(),
    ]
    .into_iter()
    .chain(l.tags.iter().cloned())
    .collect()
}

fn lower(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// The rows where SkimMatcherV2 finds every term of `query` in one of the fields.
fn skim_rows(leads: &[Lead], query: &str) -> Vec<usize> {
    let skim = SkimMatcherV2::default().respect_case();
    let mut rows: Vec<usize> = leads
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let mut fields = vec![
                l.name.clone(),
                l.company.clone().unwrap_or_default(),
                l.email.clone().unwrap_or_default(),
                l.phone.clone().unwrap_or_default(),
            ];
            fields.extend(l.tags.iter().cloned());
            query.split_whitespace().all(|t| {
                fields
                    .iter()
                    .any(|f| skim.fuzzy_match(&lower(f), &lower(t)).is_some())
            })
        })
        .map(|(i, _)| i)
        .collect();
    rows.sort();
    rows
}

#[test]
fn a_row_matches_exactly_when_skim_matches_every_term_in_one_field() {
    let mut leads = leads(3_000);
    leads.push(lead(9_001, "Ada", "Nokia", "x@y.io"));
    leads.push(lead(9_002, "ИВАН Петров", "Массив", "ivan@example.ru"));
    let index = SearchIndex::build(leads.iter());
    for query in [
        "an", "anna si", "ив", "иван", "555 01", "vip", "glob", "zzz", "AN", "a@", "xy",
        "lead1 ex", "an nokia", "Ада",
    ] {
        let mut found = rows(&index, query);
        found.sort();
        assert_eq!(found, skim_rows(&leads, query), "query {query:?}");
    }
    // "a" in the name and "n" in the company is not a match for "an".
    assert!(!rows(&index, "an").contains(&3_000));
    assert!(
        rows(&index, "иван").contains(&3_001),
        "case is folded beyond ASCII"
    );
}

#[test]
fn the_name_starting_with_the_term_comes_first_then_the_queue_order_decides() {
    let leads = [
        lead(1, "Bob Jonas", "Annabel Ltd", "bob@jonas.io"),
        lead(2, "Joanna Smith", "Acme", "js@acme.io"),
        lead(3, "Maria Annala", "Acme", "maria@acme.io"),
        lead(4, "Anna Silva", "Globex", "anna@globex.io"),
        lead(5, "Ada Nun Nara", "Hooli", "ada@hooli.io"),
        lead(6, "Anna Berg", "Hooli", "berg@hooli.io"),
        lead(7, "Sam Ott", "Hooli", "sam@hooli.io"),
    ];
    let index = SearchIndex::build(leads.iter());
    // Name starts with it (in queue order), a word of the name, a word of the company, inside
    // the name, letters scattered; Sam Ott does not match.
    assert_eq!(rows(&index, "anna"), [3, 5, 2, 0, 1, 4]);
    // Two terms: both count.
    assert_eq!(rows(&index, "anna hooli"), [5, 4]);
    // Narrowing searches only the rows given, and orders them the same way.
    assert_eq!(
        index
            .search("anna", Some(&[4, 1, 5]))
            .iter()
            .map(|m| m.row)
            .collect::<Vec<_>>(),
        [5, 1, 4]
    );
}

#[test]
fn highlight_marks_the_matched_chars_of_name_or_company() {
    use leadq::domain::search::Highlighter;
    let highlight =
        |query: &str, name: &str, company: &str| Highlighter::new(query).marks(name, company);
    assert_eq!(highlight("an", "Anna Silva", "Hooli"), (vec![0, 1], vec![]));
    assert_eq!(
        highlight("иван", "ИВАН Петров", ""),
        (vec![0, 1, 2, 3], vec![])
    );
    assert_eq!(
        highlight("hoo", "Anna Silva", "Hooli"),
        (vec![], vec![0, 1, 2])
    );
    assert_eq!(highlight("zz", "Anna", "Hooli"), (vec![], vec![]));
}

#[test]
fn a_split_search_finds_what_one_thread_finds_in_the_same_order() {
    let leads = leads(6_000);
    let index = SearchIndex::build(leads.iter());
    for query in ["an", "anna si", "ив", "555 01", "vip", "glob", "zzz"] {
        let whole = index.search(query, None);
        let mut parts: Vec<Match> = (0..6)
            .flat_map(|p| {
                let rows: Vec<usize> = (p * 1_000..(p + 1) * 1_000).collect();
                index.search(query, Some(&rows))
            })
            .collect();
        parts.sort_by(|a, b| b.rank.cmp(&a.rank).then(a.row.cmp(&b.row)));
        assert_eq!(
            whole.iter().map(key).collect::<Vec<_>>(),
            parts.iter().map(key).collect::<Vec<_>>(),
            "query {query:?}"
        );
    }
}

/// A one-letter query is matched and ranked from what the index marks of each row (no look at
/// its text): the same rows and ranks as the rules say, found by hand here. The name starting
/// with the letter (5), a word of the name (4), a word of another field (3), anywhere (2).
#[test]
fn a_one_letter_query_finds_and_ranks_as_the_rules_say() {
    let mut leads = leads(2_000);
    leads.push(lead(9_001, "", "Acme", "a@b.c"));
    leads.push(lead(9_002, "Jean-Luc O'Neil", "x9 Labs", "jl@9.fr"));
    leads.push(lead(9_003, "Élodie Ávila", "Ångström", "e@z.se"));
    let index = SearchIndex::build(leads.iter());
    let word_starts = |field: &str, c: char| {
        let chars: Vec<char> = lower(field).chars().collect();
        (0..chars.len()).any(|i| chars[i] == c && (i == 0 || !chars[i - 1].is_alphanumeric()))
    };
    for c in ('a'..='z').chain('0'..='9') {
        let mut want: Vec<(u32, usize)> = Vec::new();
        for (row, l) in leads.iter().enumerate() {
            let others = other_fields(l);
            let name = lower(&l.name);
            let rank = if name.starts_with(c) {
                5
            } else if word_starts(&l.name, c) {
                4
            } else if others.iter().any(|f| word_starts(f, c)) {
                3
            } else if name.contains(c) || others.iter().any(|f| lower(f).contains(c)) {
                2
            } else {
                continue;
            };
            want.push((rank, row));
        }
        want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let got: Vec<(u32, usize)> = index
            .search(&c.to_string(), None)
            .iter()
            .map(|m| (m.rank, m.row))
            .collect();
        assert_eq!(got, want, "query {c:?}");
    }
}

/// A term of several letters is ranked by the best place it occurs in one piece (the name's
/// start, a word of the name, a word of another field, anywhere), else by its letters
/// scattered in one field: the same rows and ranks as a plain reading of every field says.
/// Rows where the term occurs more than once, in the name and after it, are among them.
#[test]
fn a_longer_query_ranks_by_the_best_place_it_occurs() {
    let mut leads = leads(1_500);
    for (i, (name, company, email)) in [
        ("Joanna Anna", "Acme", "x@y.z"),
        ("Bo Lanna", "Anna Ltd", "anna@q.io"),
        ("Lanna Bo", "Hooli", "bo@anna.io"),
        ("Annabel Anna", "Anna", "anna@anna.io"),
        ("Sam", "Zanna", "s@zanna.io"),
        ("A N N A", "Acme", "a@b.c"),
        ("Mama Ma", "Mamaco", "ma@ma.ma"),
        ("Ivan Иванов", "Иван и Ко", "ivan@x.ru"),
    ]
    .into_iter()
    .enumerate()
    {
        leads.push(lead(9_000 + i as u64, name, company, email));
    }
    let index = SearchIndex::build(leads.iter());
    let word_at = |s: &[char], i: usize| i == 0 || !s[i - 1].is_alphanumeric();
    let places = |field: &str, term: &[char]| -> Vec<usize> {
        let s: Vec<char> = lower(field).chars().collect();
        (0..s.len()).filter(|&i| s[i..].starts_with(term)).collect()
    };
    let scattered = |field: &str, term: &[char]| {
        let mut want = term.iter();
        let mut next = want.next();
        for c in lower(field).chars() {
            if Some(&c) == next {
                next = want.next();
            }
        }
        next.is_none()
    };
    for query in [
        "an", "anna", "ma", "mam", "ив", "иван", "lanna", "5550", "bo", "io",
    ] {
        let term: Vec<char> = query.chars().collect();
        let mut want: Vec<(u32, usize)> = Vec::new();
        for (row, l) in leads.iter().enumerate() {
            let name: Vec<char> = lower(&l.name).chars().collect();
            let others = other_fields(l);
            let in_name = places(&l.name, &term);
            let rank = if in_name.first() == Some(&0) {
                5
            } else if in_name.iter().any(|&i| word_at(&name, i)) {
                4
            } else if others.iter().any(|f| {
                let s: Vec<char> = lower(f).chars().collect();
                places(f, &term).iter().any(|&i| word_at(&s, i))
            }) {
                3
            } else if !in_name.is_empty() || others.iter().any(|f| !places(f, &term).is_empty()) {
                2
            } else if scattered(&l.name, &term) || others.iter().any(|f| scattered(f, &term)) {
                1
            } else {
                continue;
            };
            want.push((rank, row));
        }
        want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let got: Vec<(u32, usize)> = index
            .search(query, None)
            .iter()
            .map(|m| (m.rank, m.row))
            .collect();
        assert!(!want.is_empty(), "query {query:?} finds something");
        assert_eq!(got, want, "query {query:?}");
    }
}
