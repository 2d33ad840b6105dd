//! CSV inventories: `serial,kind,key,digits,step[,algorithm,counter,t0]`,
//! or privacyIDEA's headerless OATH CSV (`oathcsv.rs`), told apart by the
//! first line.
//!
//! The layout `tokenrig-sim fleet` prints: a header line naming the columns
//! (any order, any case), then one token per line with `kind` `c100`, `c200`
//! or `usb`, the key in hex, `step` empty for event tokens and 30 or 60 for a
//! C200. Optional columns: `algorithm` (sha1 when empty), `counter` (event
//! tokens, 0 when empty) and `t0` (time tokens, 0 when empty). An unknown
//! column refuses the file: a misspelt `countr` must not silently become 0.

use ::csv::{ReaderBuilder, StringRecord, Trim};

use super::error::{CsvHeaderError, EntryError, InventoryError, Location, Quoted};
use super::{MovingFactor, MovingFields, RawEntry};
use crate::device::Model;
use crate::otp::{Algorithm, SecretKey};

const REQUIRED: [&str; 5] = ["serial", "kind", "key", "digits", "step"];
const OPTIONAL: [&str; 3] = ["algorithm", "counter", "t0"];

pub(super) fn parse(text: &str) -> Result<Vec<(Location, RawEntry)>, InventoryError> {
    if super::oathcsv::looks_like(text) {
        return super::oathcsv::parse(text);
    }
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let Some(header) = records.next() else {
        return Ok(Vec::new());
    };
    let columns = Columns::new(&header.map_err(|e| malformed(&e))?)?;
    records
        .map(|record| {
            let record = record.map_err(|e| malformed(&e))?;
            let line = record.position().map_or(0, |p| p.line());
            let at = Location::Line(usize::try_from(line).unwrap_or(usize::MAX));
            match columns.entry(&record) {
                Ok(entry) => Ok((at, entry)),
                Err(why) => Err(InventoryError::Entry { at, why }),
            }
        })
        .collect()
}

/// A CSV syntax error (an unclosed quote): its line, never its text.
fn malformed(e: &::csv::Error) -> InventoryError {
    let line = e.position().map_or(0, |p| p.line());
    InventoryError::Entry {
        at: Location::Line(usize::try_from(line).unwrap_or(usize::MAX)),
        why: EntryError::MalformedCsv,
    }
}

/// Where each column sits in a row, from the header.
struct Columns {
    count: usize,
    serial: usize,
    kind: usize,
    key: usize,
    digits: usize,
    step: usize,
    algorithm: Option<usize>,
    counter: Option<usize>,
    t0: Option<usize>,
}

impl Columns {
    fn new(header: &StringRecord) -> Result<Columns, CsvHeaderError> {
        let names: Vec<String> = header.iter().map(str::to_ascii_lowercase).collect();
        let position = |name: &str| names.iter().position(|n| n == name);
        // Missing columns first: a file without a header has a token on its
        // first line, and only our own column names may be quoted back.
        let missing: Vec<&str> = REQUIRED
            .into_iter()
            .filter(|name| position(name).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(CsvHeaderError::Missing {
                missing: missing.join(", "),
            });
        }
        for (i, (name, raw)) in names.iter().zip(header.iter()).enumerate() {
            if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) {
                return Err(CsvHeaderError::UnknownColumn(Quoted::new(raw)));
            }
            if names[..i].contains(name) {
                return Err(CsvHeaderError::DuplicateColumn(Quoted::new(raw)));
            }
        }
        let required = |name: &str| position(name).unwrap_or_default();
        Ok(Columns {
            count: names.len(),
            serial: required("serial"),
            kind: required("kind"),
            key: required("key"),
            digits: required("digits"),
            step: required("step"),
            algorithm: position("algorithm"),
            counter: position("counter"),
            t0: position("t0"),
        })
    }

    fn entry(&self, row: &StringRecord) -> Result<RawEntry, EntryError> {
        if row.len() != self.count {
            return Err(EntryError::FieldCount {
                found: row.len(),
                expected: self.count,
            });
        }
        let field = |i: usize| row.get(i).unwrap_or_default();
        let optional = |i: Option<usize>| i.map(field).filter(|v| !v.is_empty());
        let number =
            |name: &'static str, v: Option<&str>| v.map(|v| super::number(name, v)).transpose();

        let serial = field(self.serial);
        if serial.is_empty() {
            return Err(EntryError::NoSerial("the serial column is empty"));
        }
        let model: Model = field(self.kind).parse()?;
        let key = SecretKey::from_hex(field(self.key))?;
        let digits = super::digits(field(self.digits))?;
        let step = number("step", optional(Some(self.step)))?;
        let counter = number("counter", optional(self.counter))?;
        let t0 = number("t0", optional(self.t0))?;
        let algorithm = match optional(self.algorithm) {
            Some(name) => name.parse()?,
            None => Algorithm::Sha1,
        };
        let moving = MovingFactor::from_fields(
            model,
            MovingFields {
                counter: ("counter", counter),
                step: ("step", step),
                t0: ("t0", t0),
                default_step: None,
            },
        )?;
        RawEntry::new(serial.to_owned(), model, key, algorithm, digits, moving)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::super::{Format, parse as parse_inventory};
    use super::*;
    use crate::otp::{Digits, TimeStep, TotpParams};

    fn err(bytes: &[u8]) -> String {
        parse_inventory(bytes, Format::Csv, None)
            .unwrap_err()
            .to_string()
    }

    /// fleet.csv with its header and first rows, then `tail`.
    fn fleet_with(tail: &str) -> Vec<u8> {
        let mut bytes = fixture("fleet.csv");
        bytes.extend_from_slice(tail.as_bytes());
        bytes
    }

    #[test]
    fn the_simulators_fleet_output_parses() {
        let entries = parse_inventory(&fixture("fleet.csv"), Format::Csv, None).unwrap();
        let models: Vec<Model> = entries.iter().map(|e| e.model()).collect();
        assert_eq!(
            models,
            [
                Model::C100,
                Model::C100,
                Model::C200,
                Model::C200,
                Model::Usb
            ]
        );
        let c200 = &entries[2];
        assert_eq!(c200.serial().as_str(), "2630489071652");
        assert_eq!(
            c200.moving_factor(),
            MovingFactor::Time(TotpParams::new(TimeStep::SECONDS_60))
        );
        assert_eq!(
            c200.key().to_hex().as_str(),
            "fb629f61551d47bd9593f765f309d18821e1b546"
        );
        assert_eq!(
            entries[0].moving_factor(),
            MovingFactor::Event { counter: 0 }
        );
        assert!(entries.iter().all(|e| e.digits() == Digits::SIX));
    }

    #[test]
    fn optional_columns_in_any_order_and_case() {
        let entries = parse_inventory(&fixture("optional-columns.csv"), Format::Csv, None).unwrap();
        assert_eq!(
            entries[0].moving_factor(),
            MovingFactor::Event { counter: 42 }
        );
        assert_eq!(entries[0].algorithm(), Algorithm::Sha256);
        assert_eq!(entries[0].digits(), Digits::EIGHT);
        assert_eq!(
            entries[1].moving_factor(),
            MovingFactor::Time(TotpParams {
                step: TimeStep::SECONDS_30,
                t0: 1_700_000_000
            })
        );
        assert_eq!(entries[1].algorithm(), Algorithm::Sha1);
    }

    #[test]
    fn one_bad_line_among_good_ones_refuses_the_file() {
        assert_eq!(
            err(&fixture("invalid/bad-key.csv")),
            "line 4: key is not valid hex: unexpected character at position 7"
        );
    }

    #[test]
    fn header_problems() {
        assert_eq!(
            err(&fixture("invalid/unknown-column.csv")),
            "CSV: unknown column countr in the header (known: serial, kind, key, digits, step, \
             algorithm, counter, t0)"
        );
        // No header: line 1 is a token, and its key must not be echoed.
        let headless: Vec<u8> = fixture("fleet.csv")
            .into_iter()
            .skip_while(|b| *b != b'\n')
            .skip(1)
            .collect();
        let message = err(&headless);
        assert_eq!(
            message,
            "CSV: the first line must be the header serial,kind,key,digits,step\
             [,algorithm,counter,t0]; it lacks serial, kind, key, digits, step"
        );
        assert_eq!(
            err(b"serial,kind,key,digits,step,Kind\n"),
            "CSV: column Kind is named twice in the header"
        );
    }

    #[test]
    fn row_problems_name_the_line() {
        for (tail, expected) in [
            (
                "1000000000001,c100,00ff,6\n",
                "line 7: has 4 fields but the header names 5",
            ),
            (
                "1000000000001,c300,00ff,6,\n",
                "line 7: unknown token model \"c300\": expected c100, c200 or usb",
            ),
            (
                "1000000000001,c100,00ff,6,30\n",
                "line 7: step does not apply to a c100, an event token",
            ),
            ("2000000000001,c200,00ff,6,\n", "line 7: step is missing"),
            (
                "2000000000001,c200,00ff,6,0\n",
                "line 7: time step must be at least 1 second",
            ),
            (
                "2000000000001,c200,00ff,6,45\n",
                "line 7: time step 45s: a c200 uses 30 or 60 s",
            ),
            (
                "2000000000001,c200,00ff,9,60\n",
                "line 7: digits must be 6, 7 or 8, not 9",
            ),
            (
                "2000000000001,c200,00ff,six,60\n",
                "line 7: digits is not a whole number in range",
            ),
            ("2000000000001,c200,,6,60\n", "line 7: key is empty"),
            (
                ",c200,00ff,6,60\n",
                "line 7: no serial: the serial column is empty",
            ),
            (
                // An unclosed quote swallows the rest of the file into one
                // field; the count gives it away without echoing the key.
                "2000000000001,c200,\"00ff,6,60\n1000000000002,c100,00ff,6,\n",
                "line 7: has 3 fields but the header names 5",
            ),
        ] {
            assert_eq!(err(&fleet_with(tail)), expected, "{tail}");
        }
    }
}
