//! Generated session names: short, readable, and valid [`SessionName`]s.

use rcd_proto::SessionName;

const ADJECTIVES: &[&str] = &[
    "amber", "bold", "brisk", "calm", "clever", "cosy", "crisp", "dapper", "eager", "fair",
    "fleet", "gentle", "glad", "grand", "hardy", "jolly", "keen", "lively", "lucky", "mellow",
    "merry", "nimble", "noble", "plucky", "proud", "quick", "quiet", "rapid", "ready", "sharp",
    "shiny", "snug", "spry", "steady", "sunny", "swift", "tidy", "vivid", "warm", "witty",
];

const NOUNS: &[&str] = &[
    "badger", "beacon", "birch", "comet", "cedar", "crane", "delta", "ember", "falcon", "fern",
    "finch", "fjord", "gecko", "harbor", "heron", "island", "lark", "lynx", "maple", "marten",
    "meadow", "otter", "owl", "panda", "pebble", "pine", "quail", "raven", "reef", "river",
    "robin", "sparrow", "spruce", "summit", "thistle", "tiger", "tulip", "walrus", "willow",
    "wren",
];

/// A random `adjective-noun` name for which `taken` is false, with a
/// numeric suffix once the plain names run short.
pub fn generate(taken: impl Fn(&SessionName) -> bool) -> SessionName {
    for attempt in 0u32.. {
        let a = ADJECTIVES[rand::random_range(0..ADJECTIVES.len())];
        let n = NOUNS[rand::random_range(0..NOUNS.len())];
        let raw = if attempt < 64 {
            format!("{a}-{n}")
        } else {
            format!("{a}-{n}-{}", rand::random_range(2..10_000u32))
        };
        if let Ok(name) = SessionName::new(&raw)
            && !taken(&name)
        {
            return name;
        }
    }
    unreachable!("the loop above only ends by returning")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_valid_short_and_avoid_taken_ones() {
        let mut seen = HashSet::new();
        for _ in 0..500 {
            let n = generate(|n| seen.contains(n));
            assert!(n.as_str().len() <= 20, "{n}");
            assert!(seen.insert(n));
        }
    }
}
