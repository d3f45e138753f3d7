/// Randomness for backoff jitter, injectable so retry schedules are exact in tests.
pub trait Jitter: Send + Sync {
    /// A number in `[0, 1)`.
    fn sample(&self) -> f64;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadRngJitter;

impl Jitter for ThreadRngJitter {
    fn sample(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// Always the same sample.
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn sample(&self) -> f64 {
        self.0
    }
}
