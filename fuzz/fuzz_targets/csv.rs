//! Arbitrary bytes as a CSV table, with and without a header, then a column selection.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use strata::data::table::{Missing, Table};

fuzz_target!(|data: &[u8]| {
    for (header, missing) in [(true, Missing::Error), (false, Missing::Drop)] {
        if let Ok(table) = Table::from_csv_reader(Path::new("fuzz.csv"), data, header, missing) {
            let rows: Vec<usize> = (0..table.rows.len()).collect();
            let names: Vec<String> = table.columns.iter().take(2).cloned().collect();
            let _ = table.select::<f32>(&names, &rows);
        }
    }
});
