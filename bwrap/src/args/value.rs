//! Parsers for option values with the acceptance rules of the C functions upstream uses
//! (`strtol`, `strtoul`, `strtoull`), so odd inputs are accepted or rejected the same way.

/// Result of a C-style unsigned conversion: the value (wrapped like C), whether it overflowed,
/// and whether the whole string was consumed.
struct CNumber {
    value: u64,
    negative: bool,
    overflow: bool,
    complete: bool,
    any_digits: bool,
}

fn c_parse(s: &[u8], base: u32) -> CNumber {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let mut base = base;
    let has_hex_prefix = |i: usize| {
        s.get(i) == Some(&b'0')
            && s.get(i + 1).map(|c| c | 0x20) == Some(b'x')
            && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    };
    if base == 0 {
        if has_hex_prefix(i) {
            base = 16;
            i += 2;
        } else if s.get(i) == Some(&b'0') {
            base = 8;
        } else {
            base = 10;
        }
    } else if base == 16 && has_hex_prefix(i) {
        i += 2;
    }
    let (mut value, mut overflow, mut any_digits) = (0u64, false, false);
    while i < s.len() {
        let Some(d) = (s[i] as char).to_digit(base) else {
            break;
        };
        any_digits = true;
        match value
            .checked_mul(base as u64)
            .and_then(|v| v.checked_add(d as u64))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        i += 1;
    }
    CNumber {
        value,
        negative,
        overflow,
        complete: any_digits && i == s.len(),
        any_digits,
    }
}

/// `strtol(s, &end, 10)` accepted as a non-negative `int`: fds, uids and gids.
pub(crate) fn parse_nonneg_int(s: &[u8]) -> Option<u32> {
    let n = c_parse(s, 10);
    if s.is_empty() || !n.complete || n.overflow || (n.negative && n.value != 0) {
        return None;
    }
    u32::try_from(n.value)
        .ok()
        .filter(|v| *v <= i32::MAX as u32)
}

/// `strtoul(s, &end, 8)` limited to 07777, as `--perms` and `--chmod` accept.
pub(crate) fn parse_mode(s: &[u8]) -> Option<u32> {
    let n = c_parse(s, 8);
    if s.is_empty() || !n.complete || n.overflow {
        return None;
    }
    let value = if n.negative {
        n.value.wrapping_neg()
    } else {
        n.value
    };
    (value <= 0o7777).then_some(value as u32)
}

/// Why a `--size` value was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SizeError {
    /// Not a positive number of bytes.
    NotPositive,
    /// Larger than `SIZE_MAX / 2`.
    TooLarge(u64),
}

/// `--size`: a digit first, then `strtoull(s, &end, 0)`, non-zero and at most `SIZE_MAX / 2`.
pub(crate) fn parse_size(s: &[u8]) -> Result<u64, SizeError> {
    if !s.first().is_some_and(u8::is_ascii_digit) {
        return Err(SizeError::NotPositive);
    }
    let n = c_parse(s, 0);
    if !n.complete || n.overflow || n.value == 0 || !n.any_digits {
        return Err(SizeError::NotPositive);
    }
    let limit = usize::MAX as u64 / 2;
    if n.value > limit {
        return Err(SizeError::TooLarge(limit));
    }
    Ok(n.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(b"0", Some(0))]
    #[case(b"42", Some(42))]
    #[case(b" 7", Some(7))]
    #[case(b"+3", Some(3))]
    #[case(b"-1", None)]
    #[case(b"0a", None)]
    #[case(b"", None)]
    #[case(b"-", None)]
    #[case(b"99999999999", None)]
    fn nonneg_int_follows_strtol(#[case] input: &[u8], #[case] want: Option<u32>) {
        assert_eq!(parse_nonneg_int(input), want);
    }

    #[rstest]
    #[case(b"0755", Some(0o755))]
    #[case(b"1777", Some(0o1777))]
    #[case(b"7777", Some(0o7777))]
    #[case(b"10000", None)]
    #[case(b"8", None)]
    #[case(b"", None)]
    #[case(b"-1", None)]
    fn mode_is_octal_up_to_07777(#[case] input: &[u8], #[case] want: Option<u32>) {
        assert_eq!(parse_mode(input), want);
    }

    #[rstest]
    #[case(b"1048576", Ok(1048576))]
    #[case(b"0x10", Ok(16))]
    #[case(b"010", Ok(8))]
    #[case(b"0", Err(SizeError::NotPositive))]
    #[case(b"123bogus", Err(SizeError::NotPositive))]
    #[case(b"", Err(SizeError::NotPositive))]
    #[case(b"-12345678", Err(SizeError::NotPositive))]
    #[case(b" -12345678", Err(SizeError::NotPositive))]
    #[case(b"18446744073709551616", Err(SizeError::NotPositive))]
    #[case(b"9223372036854775809", Err(SizeError::TooLarge(usize::MAX as u64 / 2)))]
    fn size_rules_match_upstream(#[case] input: &[u8], #[case] want: Result<u64, SizeError>) {
        assert_eq!(parse_size(input), want);
    }

    /// Random strings over the characters that matter to `strtol` and friends.
    fn random_inputs() -> Vec<Vec<u8>> {
        let alphabet = b" \t+-0123456789abcdefxX8";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..20_000)
            .map(|_| {
                let len = (next() % 24) as usize;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    /// Calls a libc conversion and reports (value, fully consumed, ERANGE).
    fn libc_convert(
        input: &[u8],
        f: impl Fn(*const libc::c_char, *mut *mut libc::c_char) -> u64,
    ) -> (u64, bool, bool) {
        let c = std::ffi::CString::new(input).unwrap();
        let mut end: *mut libc::c_char = std::ptr::null_mut();
        // SAFETY: errno is thread-local; resetting it before the call is always sound.
        unsafe { *libc::__errno_location() = 0 };
        let value = f(c.as_ptr(), &mut end);
        // SAFETY: as above, reading the thread-local errno.
        let range = unsafe { *libc::__errno_location() } == libc::ERANGE;
        // SAFETY: `end` points into `c`, which is still alive.
        let consumed = unsafe { *end } == 0;
        (value, consumed, range)
    }

    #[test]
    fn mode_parser_agrees_with_libc_strtoul() {
        for input in random_inputs() {
            // SAFETY: valid NUL-terminated string and end pointer.
            let (value, consumed, range) =
                libc_convert(&input, |p, e| unsafe { libc::strtoul(p, e, 8) });
            let want = (!input.is_empty() && consumed && !range && value <= 0o7777)
                .then_some(value as u32);
            assert_eq!(
                parse_mode(&input),
                want,
                "{:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    #[test]
    fn size_parser_agrees_with_libc_strtoull() {
        for input in random_inputs() {
            // SAFETY: valid NUL-terminated string and end pointer.
            let (value, consumed, range) =
                libc_convert(&input, |p, e| unsafe { libc::strtoull(p, e, 0) });
            let digit_first = input.first().is_some_and(u8::is_ascii_digit);
            let ours = parse_size(&input);
            if !digit_first || !consumed || range || value == 0 {
                assert_eq!(
                    ours,
                    Err(SizeError::NotPositive),
                    "{:?}",
                    String::from_utf8_lossy(&input)
                );
            } else if value > usize::MAX as u64 / 2 {
                assert!(
                    matches!(ours, Err(SizeError::TooLarge(_))),
                    "{:?}",
                    String::from_utf8_lossy(&input)
                );
            } else {
                assert_eq!(ours, Ok(value), "{:?}", String::from_utf8_lossy(&input));
            }
        }
    }

    #[test]
    fn fd_parser_agrees_with_libc_strtol() {
        for input in random_inputs() {
            // SAFETY: valid NUL-terminated string and end pointer.
            let (value, consumed, range) =
                libc_convert(&input, |p, e| unsafe { libc::strtol(p, e, 10) as u64 });
            let value = value as i64;
            // Upstream accepts any non-negative long; we also cap at INT_MAX (an fd is an int).
            let want =
                (!input.is_empty() && consumed && !range && (0..=i32::MAX as i64).contains(&value))
                    .then_some(value as u32);
            assert_eq!(
                parse_nonneg_int(&input),
                want,
                "{:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}
