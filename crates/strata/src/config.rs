//! Reading configs from the spec's TOML values: a table read key by key, so an unknown key is
//! refused by name with the list of accepted ones. Each config type parses itself with it, next
//! to its own definition and range checks (`nn::init`, `nn::regularizer`, ...).
// Configs come from untrusted spec files: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use toml::Value;

/// Reads a TOML table key by key, so unknown keys can be refused by name.
pub(crate) struct Fields<'a> {
    pub(crate) what: &'a str,
    pub(crate) table: toml::map::Map<String, Value>,
    /// Every key asked for, so an unknown key's error lists the accepted ones.
    pub(crate) accepted: Vec<String>,
}

impl<'a> Fields<'a> {
    /// The fields of a TOML table (for configs without a `type` key).
    pub(crate) fn of_table(what: &'a str, table: toml::map::Map<String, Value>) -> Self {
        Fields { what, table, accepted: Vec::new() }
    }

    /// A string is the table `{ type = string }`.
    pub(crate) fn new(what: &'a str, value: Value) -> std::result::Result<(String, Self), String> {
        let mut table = match value {
            Value::String(s) => return Ok((s, Fields { what, table: Default::default(), accepted: Vec::new() })),
            Value::Table(t) => t,
            other => return Err(format!("{what} must be a name or a table, got {other}")),
        };
        match table.remove("type") {
            Some(Value::String(kind)) => Ok((kind, Fields { what, table, accepted: Vec::new() })),
            _ => Err(format!("{what} table needs a `type` name")),
        }
    }

    /// The value of `key`, noted as an accepted key.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        if !self.accepted.iter().any(|k| k == key) {
            self.accepted.push(key.to_string());
        }
        self.table.remove(key)
    }

    pub(crate) fn f64(&mut self, key: &str, default: f64) -> std::result::Result<f64, String> {
        match self.remove(key) {
            None => Ok(default),
            Some(Value::Float(v)) => Ok(v),
            Some(Value::Integer(v)) => Ok(v as f64),
            Some(other) => Err(format!("{} key `{key}` must be a number, got {other}", self.what)),
        }
    }

    /// A number that must satisfy `ok` (`expected` says what it must be, in the error).
    pub(crate) fn f64_where(
        &mut self,
        key: &str,
        default: f64,
        ok: fn(f64) -> bool,
        expected: &str,
    ) -> std::result::Result<f64, String> {
        let v = self.f64(key, default)?;
        if ok(v) {
            Ok(v)
        } else {
            Err(format!("{} key `{key}` must be {expected}, got {v}", self.what))
        }
    }

    pub(crate) fn opt_f64(&mut self, key: &str) -> std::result::Result<Option<f64>, String> {
        if self.table.contains_key(key) {
            self.f64(key, 0.0).map(Some)
        } else {
            self.remove(key); // noted as accepted
            Ok(None)
        }
    }

    pub(crate) fn u64(&mut self, key: &str, default: u64) -> std::result::Result<u64, String> {
        match self.remove(key) {
            None => Ok(default),
            Some(Value::Integer(v)) if v >= 0 => Ok(v as u64),
            Some(other) => Err(format!("{} key `{key}` must be a whole number >= 0, got {other}", self.what)),
        }
    }

    pub(crate) fn bool(&mut self, key: &str, default: bool) -> std::result::Result<bool, String> {
        match self.remove(key) {
            None => Ok(default),
            Some(Value::Boolean(v)) => Ok(v),
            Some(other) => Err(format!("{} key `{key}` must be true or false, got {other}", self.what)),
        }
    }

    pub(crate) fn string(&mut self, key: &str, default: &str) -> std::result::Result<String, String> {
        match self.remove(key) {
            None => Ok(default.to_string()),
            Some(Value::String(v)) => Ok(v),
            Some(other) => Err(format!("{} key `{key}` must be a string, got {other}", self.what)),
        }
    }

    pub(crate) fn take(&mut self, key: &str) -> Option<Value> {
        self.remove(key)
    }

    /// Refuse keys left over: they are unknown (the message lists the accepted ones).
    pub(crate) fn done(self, kind: &str) -> std::result::Result<(), String> {
        match self.table.keys().next() {
            Some(key) if self.accepted.is_empty() => {
                Err(format!("unknown key `{key}` for {} \"{kind}\" (it takes no keys besides `type`)", self.what))
            }
            Some(key) => Err(format!(
                "unknown key `{key}` for {} \"{kind}\" (accepted keys: type, {})",
                self.what,
                self.accepted.join(", ")
            )),
            None => Ok(()),
        }
    }
}

/// A value a config reads from its table by key, with a default: what `read_keys!` and the
/// loss table read (every hyper-parameter is a number or a flag).
pub(crate) trait ConfigValue: Sized {
    fn read(f: &mut Fields<'_>, key: &str, default: Self) -> std::result::Result<Self, String>;
}

impl ConfigValue for f64 {
    fn read(f: &mut Fields<'_>, key: &str, default: f64) -> std::result::Result<f64, String> {
        f.f64(key, default)
    }
}

impl ConfigValue for bool {
    fn read(f: &mut Fields<'_>, key: &str, default: bool) -> std::result::Result<bool, String> {
        f.bool(key, default)
    }
}

/// `read_keys!(f, Sgd { learning_rate, momentum })`: the struct with each field read from `f`
/// under its own name, its `Default` where absent (Keras's key names are the field names).
macro_rules! read_keys {
    ($f:expr, $ty:ident { $($field:ident),* $(,)? }) => {{
        let defaults = $ty::default();
        $ty { $($field: $crate::config::ConfigValue::read($f, stringify!($field), defaults.$field)?,)* }
    }};
}
pub(crate) use read_keys;

/// A table of the kinds of one config enum (initializers, schedules): each row is a variant's
/// pattern, its spec names (the canonical one first, then aliases) and how a spec table gives
/// its parameters. It generates `NAMES`, `name()` and `read(kind, fields)`, whose error for an
/// unknown name lists `NAMES`; a variant without a row does not compile (`name`'s match is
/// exhaustive).
macro_rules! kind_table {
    ($ty:ident, $what:literal; $( $pattern:pat = $name:literal $(| $alias:literal)* => |$f:ident| $read:expr; )*) => {
        impl $ty {
            #[doc = concat!("Every name a spec may give a ", $what, ", aliases included.")]
            pub const NAMES: &'static [&'static str] = &[$($name, $($alias,)*)*];

            /// The canonical (Keras) name, used in specs and messages.
            pub fn name(&self) -> &'static str {
                match self {
                    $( $pattern => $name, )*
                }
            }

            #[doc = concat!("The ", $what, " `kind` with its parameters from a spec table.")]
            pub(crate) fn read(kind: &str, f: &mut $crate::config::Fields<'_>) -> std::result::Result<Self, String> {
                match kind {
                    $( $name $(| $alias)* => {
                        let $f = &mut *f;
                        Ok($read)
                    } )*
                    other => Err(format!(concat!("unknown ", $what, " {:?} (expected one of: {})"), other, Self::NAMES.join(", "))),
                }
            }
        }
    };
}
pub(crate) use kind_table;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests may panic: that is how they fail
mod spec_form_tests {
    use super::Fields;
    use crate::loss::Loss;
    use crate::spec::CallbackSpec;
    use crate::train::Metric;

    /// `value` read back through the spec's reader for `what`.
    fn read_back<C>(
        what: &str,
        value: toml::Value,
        read: impl Fn(&str, &mut Fields<'_>) -> std::result::Result<C, String>,
    ) -> C {
        let (kind, mut fields) = Fields::new(what, value).unwrap();
        let config = read(&kind, &mut fields).unwrap();
        fields.done(&kind).unwrap();
        config
    }

    /// Every loss, callback and metric written in its spec form reads back as itself.
    #[test]
    fn losses_callbacks_and_metrics_read_back_from_their_spec_form() {
        for name in Loss::NAMES {
            let loss = Loss::from_name(name).unwrap();
            assert_eq!(read_back("loss", toml::Value::try_from(loss).unwrap(), Loss::read), loss, "{name}");
        }
        for name in CallbackSpec::NAMES {
            let mut table = toml::Table::new();
            table.insert("type".into(), toml::Value::String(name.to_string()));
            let callback = read_back("callback", toml::Value::Table(table), CallbackSpec::read);
            let again = read_back("callback", toml::Value::try_from(&callback).unwrap(), CallbackSpec::read);
            assert_eq!(again, callback, "{name}");
        }
        for name in Metric::NAMES {
            let metric = Metric::from_name(name).unwrap();
            let written = toml::Value::try_from(metric).unwrap();
            assert_eq!(Metric::from_name(written.as_str().unwrap()).unwrap(), metric, "{name}");
        }
    }
}
