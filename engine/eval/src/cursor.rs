//! A position in JSON text, read byte by byte: whitespace, single bytes, literals and numbers
//! in JSON's grammar (a number with its digits gathered for a fast, correctly rounded
//! conversion). The plain scanners build on it: records here (`scan`), Kinesis events in the
//! Lambda runtime.

/// A position in JSON text.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Cursor { b, i: 0 }
    }

    #[inline(always)]
    pub fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    pub fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    #[inline(always)]
    pub fn eat(&mut self, want: u8) -> Option<()> {
        (self.peek()? == want).then(|| self.i += 1)
    }

    pub fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b
            .get(self.i..)?
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// `true`, `false`, `null` or a number at the cursor, checked and skipped.
    pub fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }

    /// Decimal digits: how many, added to `n`'s digits (as far as they fit).
    #[inline(always)]
    fn digits(&mut self, n: &mut Number<'_>) -> usize {
        let start = self.i;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            if n.count > 0 || d != b'0' {
                n.count += 1;
            }
            n.digits = n.digits.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            self.i += 1;
        }
        self.i - start
    }

    /// A number in JSON's grammar.
    #[inline(always)]
    pub fn number(&mut self) -> Option<Number<'a>> {
        let start = self.i;
        let mut n = Number {
            text: &[],
            integer: true,
            negative: false,
            digits: 0,
            count: 0,
            exp10: 0,
        };
        if self.peek() == Some(b'-') {
            n.negative = true;
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits(&mut n);
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            let fraction = self.digits(&mut n);
            if fraction == 0 {
                return None;
            }
            n.exp10 = -(fraction as i64);
            n.integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            let negative = match self.peek() {
                Some(b'-') => {
                    self.i += 1;
                    true
                }
                Some(b'+') => {
                    self.i += 1;
                    false
                }
                _ => false,
            };
            let at = self.i;
            let mut e: i64 = 0;
            while let Some(d @ b'0'..=b'9') = self.peek() {
                e = (e * 10 + i64::from(d - b'0')).min(1 << 20);
                self.i += 1;
            }
            if self.i == at {
                return None;
            }
            n.exp10 += if negative { -e } else { e };
            n.integer = false;
        }
        n.text = &self.b[start..self.i];
        Some(n)
    }
}

/// Powers of ten that are exact doubles. A `static`: a `const` array indexed at run time
/// was copied onto the stack at every use (and the load right after the copy stalled).
static POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A JSON number as read: its text, and its decimal digits as an integer and a power of ten
/// when they fit (19 digits at most).
pub struct Number<'a> {
    /// The number's text.
    pub text: &'a [u8],
    /// No fraction and no exponent.
    pub integer: bool,
    negative: bool,
    digits: u64,
    /// Significant digits read; past 19 `digits` is not used.
    count: u32,
    /// The power of ten `digits` is scaled by.
    exp10: i64,
}

impl Number<'_> {
    /// The integer, when it is one that fits an i64 (the caller checks `integer`).
    pub fn int(&self) -> Option<i64> {
        if self.count <= 18 {
            let d = self.digits as i64;
            return Some(if self.negative { -d } else { d });
        }
        utf8(self.text)?.parse().ok()
    }

    /// The nearest double. Clinger's fast path when the digits and the power of ten are both
    /// exact doubles (one rounding, so correctly rounded); the standard parser otherwise.
    /// Either way the result is the correctly rounded value serde_json's `float_roundtrip`
    /// and `i as f64` produce.
    #[inline(always)]
    pub fn float(&self) -> Option<f64> {
        if self.count <= 19 && self.digits <= 1 << 53 && self.exp10.abs() <= 22 {
            let m = self.digits as f64;
            let p = POW10[self.exp10.unsigned_abs() as usize];
            let v = if self.exp10 < 0 { m / p } else { m * p };
            return Some(if self.negative { -v } else { v });
        }
        utf8(self.text)?.parse().ok()
    }
}

fn utf8(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}
