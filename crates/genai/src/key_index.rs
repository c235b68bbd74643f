//! A read-only map from attribute keys to values, for the lookups every span attribute makes at
//! ingest. Written by hand because a general hash map hashes the whole key and then calls
//! `memcmp` to confirm it (~15 ns a key); here the slot comes from the key's length and its
//! first and last eight bytes, which already tell the known keys apart, and a key is confirmed
//! with word compares inline. Most keys that are not in the map stop at an empty slot or at a
//! different first or last word.

/// One slot: a key and its value, or empty.
type Slot<V> = Option<(&'static [u8], V)>;

/// The map: open addressing, at most a quarter full.
#[derive(Debug)]
pub struct KeyIndex<V: 'static> {
    slots: Box<[Slot<V>]>,
    mask: usize,
}

impl<V: 'static> KeyIndex<V> {
    /// The map of `entries`; a key given twice keeps its first value.
    pub fn new(entries: impl IntoIterator<Item = (&'static str, V)>) -> Self {
        let entries: Vec<_> = entries.into_iter().collect();
        let size = (entries.len() * 4).next_power_of_two().max(16);
        let mut slots: Box<[Slot<V>]> = (0..size).map(|_| None).collect();
        let mask = size - 1;
        for (key, value) in entries {
            let key = key.as_bytes();
            let mut i = slot_of(key.len(), ends(key)) & mask;
            loop {
                match &slots[i] {
                    None => {
                        slots[i] = Some((key, value));
                        break;
                    }
                    Some((k, _)) if *k == key => break,
                    Some(_) => i = (i + 1) & mask,
                }
            }
        }
        KeyIndex { slots, mask }
    }

    /// The value of `key`. Always inlined: a call's register saves cost a quarter of a lookup.
    #[inline(always)]
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let key_ends = ends(key);
        let mut i = slot_of(key.len(), key_ends) & self.mask;
        loop {
            let (k, v) = self.slots[i].as_ref()?;
            if same(k, key, key_ends) {
                return Some(v);
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// First and last eight bytes of `b` (zero-padded when shorter), as words.
#[inline(always)]
fn ends(b: &[u8]) -> (u64, u64) {
    if b.len() >= 8 {
        let first = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
        let last = u64::from_le_bytes(b[b.len() - 8..].try_into().unwrap_or([0; 8]));
        (first, last)
    } else {
        let mut w = [0u8; 8];
        w[..b.len()].copy_from_slice(b);
        let v = u64::from_le_bytes(w);
        (v, v)
    }
}

#[inline(always)]
fn slot_of(len: usize, (first, last): (u64, u64)) -> usize {
    let h = (first ^ last.rotate_left(29) ^ (len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_mul(0xff51_afd7_ed55_8ccd);
    (h >> 32) as usize
}

/// `a == b` (`b_ends` being `ends(b)`), word by word without a call.
#[inline(always)]
fn same(a: &[u8], b: &[u8], b_ends: (u64, u64)) -> bool {
    if a.len() != b.len() || ends(a) != b_ends {
        return false;
    }
    a.chunks_exact(8)
        .zip(b.chunks_exact(8))
        .all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_exactly_its_keys() {
        let keys = [
            "gen_ai.request.model",
            "gen_ai.response.model",
            "llm.model_name",
            "a",
            "",
            "agent.name",
            "gen_ai.agent.name",
        ];
        let index = KeyIndex::new(keys.iter().enumerate().map(|(i, k)| (*k, i)));
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.get(k.as_bytes()), Some(&i), "{k}");
        }
        for miss in [
            "gen_ai.request.modem",
            "gen_ai.request.mode",
            "b",
            "llm.model_namE",
        ] {
            assert_eq!(index.get(miss.as_bytes()), None, "{miss}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_a_hash_map(
            keys in proptest::collection::vec("[a-z._]{0,40}", 0..60),
            probes in proptest::collection::vec("[a-z._]{0,40}", 0..60),
        ) {
            let leaked: Vec<&'static str> =
                keys.iter().map(|k| &*Box::leak(k.clone().into_boxed_str())).collect();
            let index = KeyIndex::new(leaked.iter().enumerate().map(|(i, k)| (*k, i)));
            let mut map = std::collections::HashMap::new();
            for (i, k) in leaked.iter().enumerate() {
                map.entry(k.as_bytes()).or_insert(i);
            }
            for k in keys.iter().chain(&probes) {
                prop_assert_eq!(index.get(k.as_bytes()), map.get(k.as_bytes()));
            }
        }
    }
}
