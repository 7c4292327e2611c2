//! The search splits a big list among threads (`SearchIndex::search`); the hits and their order
//! must be what one thread finds. Small searches (a subset under the split size) stay on one
//! thread, so the answer of the whole list is checked against six searches of its parts.

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

fn key(m: &Match) -> (i64, usize) {
    (m.score, m.row)
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
        parts.sort_by(|a, b| b.score.cmp(&a.score).then(a.row.cmp(&b.row)));
        assert_eq!(
            whole.iter().map(key).collect::<Vec<_>>(),
            parts.iter().map(key).collect::<Vec<_>>(),
            "query {query:?}"
        );
    }
}
