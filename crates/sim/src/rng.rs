//! A small deterministic random number generator (SplitMix64), so that a seed gives the
//! same Control Room on every machine and every version of every dependency.

/// SplitMix64: fast, tiny, and good enough for synthetic data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A generator for one stream of a seed (for example one day of runs), independent of
    /// how much the other streams drew.
    pub fn stream(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next_u64();
        r
    }

    /// A generator for the stream named by `key` (a job's number, say), whatever key its
    /// neighbours have. [`Rng::stream`] of neighbouring numbers are one stream shifted by a
    /// draw: stream `n + 1` draws what stream `n` draws next, so two jobs shared their keys.
    pub fn keyed(seed: u64, key: u64) -> Rng {
        Rng::stream(seed, Rng::new(key).next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, n)`; `n` must not be zero.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// A standard normal deviate (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(f64::MIN_POSITIVE);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// An index drawn with the given cumulative weights (the last is the total).
    pub fn weighted(&mut self, cumulative: &[f64]) -> usize {
        let total = *cumulative.last().expect("weights are not empty");
        let x = self.f64() * total;
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers() {
        let a: Vec<u64> = (0..5).map(|_| Rng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut r = Rng::stream(7, 3);
        let mut s = Rng::stream(7, 4);
        assert_ne!(r.next_u64(), s.next_u64());
    }

    #[test]
    fn keyed_streams_of_neighbouring_keys_share_no_draws() {
        let draws = |key: u64| -> Vec<u64> {
            let mut r = Rng::keyed(7, key);
            (0..64).map(|_| r.next_u64()).collect()
        };
        let mut seen = std::collections::HashSet::new();
        for key in 0..200 {
            for d in draws(key) {
                assert!(seen.insert(d), "key {key} draws what another key drew");
            }
        }
        // Neighbouring plain streams are one stream shifted: what `keyed` is for.
        let mut a = Rng::stream(0, 1);
        let mut b = Rng::stream(0, 2);
        a.next_u64();
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn below_and_weighted_stay_in_range() {
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
            assert!(r.weighted(&[1.0, 3.0, 6.0]) < 3);
        }
    }
}
