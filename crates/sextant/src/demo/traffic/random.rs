//! Seeded random choices: catalog picks, ids and UUIDs.

use super::*;

pub(super) fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    *items.choose(rng).expect("catalog lists are not empty")
}

/// The entry of a catalog list for a topic (lists shorter than the topics wrap around).
pub(super) fn on(items: &[&'static str], topic: usize) -> &'static str {
    items[topic % items.len()]
}

/// A random id that is not all zeros (OTLP treats the all-zero id as invalid).
pub(super) fn nonzero_id<const N: usize>(rng: &mut StdRng) -> [u8; N] {
    loop {
        let id: [u8; N] = rng.random();
        if id.iter().any(|&b| b != 0) {
            return id;
        }
    }
}

/// A random (version 4) UUID.
pub(super) fn uuid(rng: &mut StdRng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

pub(super) fn alphanumeric(rng: &mut StdRng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(rng.sample(Alphanumeric)))
        .collect()
}
