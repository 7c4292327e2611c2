//! Per-item work spread over the machine's cores, in order: the search's rows, an import's
//! rows. Below `min_chunk` items per core it stays on the caller's thread (a thread costs
//! ~20 µs to start).

/// `f` over `items`, the results of each item one after another in the items' order, as
/// `items.into_iter().flat_map(f)` would give them.
pub fn flat_map<T: Send, U: Send, I: IntoIterator<Item = U>>(
    items: Vec<T>,
    min_chunk: usize,
    f: impl Fn(T) -> I + Sync,
) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(min_chunk.max(1));
    if chunk >= items.len() {
        return items.into_iter().flat_map(f).collect();
    }
    let mut parts = Vec::new();
    let mut rest = items;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        parts.push(std::mem::replace(&mut rest, tail));
    }
    parts.push(rest);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || part.into_iter().flat_map(f).collect::<Vec<U>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker thread panicked"))
            .collect()
    })
}

/// `f` over the ranges that split `0..n` among the cores (one range below `min_chunk` items
/// per core), the results one range after another: for work that reads its items from where
/// they lie, with no list of them made.
pub fn over_ranges<U: Send>(
    n: usize,
    min_chunk: usize,
    f: impl Fn(std::ops::Range<usize>) -> Vec<U> + Sync,
) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = n.div_ceil(threads).max(min_chunk.max(1));
    if chunk >= n {
        return f(0..n);
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| scope.spawn(move || f(start..(start + chunk).min(n))))
            .collect();
        let parts: Vec<Vec<U>> = handles
            .into_iter()
            .map(|h| h.join().expect("a worker thread panicked"))
            .collect();
        let mut all = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for part in parts {
            all.extend(part);
        }
        all
    })
}

#[cfg(test)]
mod tests {
    use super::over_ranges;

    #[test]
    fn ranges_cover_every_item_once_in_order() {
        for n in [0, 1, 7, 100, 1001] {
            let all = over_ranges(n, 3, |r| r.filter(|i| i % 3 != 1).collect());
            let want: Vec<usize> = (0..n).filter(|i| i % 3 != 1).collect();
            assert_eq!(all, want, "n = {n}");
        }
    }
}
