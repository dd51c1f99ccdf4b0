//! Closed vocabularies of the register (category, procurement method, funding source):
//! each value has a stored code, a Chinese and an English name, and the spellings that
//! registers use for it.

/// Declares a closed vocabulary enum with `code()`, `zh()`, `en()`, `parse()` and `ALL`.
#[macro_export]
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $code:literal, $zh:literal, $en:literal, [$($alias:literal),*];)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value stored in the database and used in JSON.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            pub fn en(self) -> &'static str {
                match self { $($name::$variant => $en),+ }
            }

            /// The name in the report language.
            pub fn name(self, lang: $crate::Lang) -> &'static str {
                match lang { $crate::Lang::Zh => self.zh(), $crate::Lang::En => self.en() }
            }

            /// By code, Chinese or English name, or a known alias; width, case and spaces ignored.
            pub fn parse(raw: &str) -> Option<$name> {
                let key = $crate::text::header_key(raw);
                $(
                    if key == $code || key == $crate::text::header_key($zh)
                        || key == $crate::text::header_key($en)
                        $(|| key == $crate::text::header_key($alias))* {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            /// By the stored code only: what the database holds.
            pub fn from_code(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// The accepted names, for error messages.
            pub fn expected() -> String {
                [$($zh),+].join("/")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        // The database keeps the code (`elderly`): a column of this type reads and writes
        // it, so no bare string of the vocabulary travels outside the mapping.
        impl From<$name> for sea_orm::Value {
            fn from(v: $name) -> Self {
                sea_orm::Value::String(Some(v.code().to_string()))
            }
        }

        impl sea_orm::TryGetable for $name {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                idx: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let code = <String as sea_orm::TryGetable>::try_get_by(res, idx)?;
                $name::from_code(&code).ok_or_else(|| {
                    sea_orm::TryGetError::DbErr(sea_orm::DbErr::Type(format!(
                        "'{code}' is not a stored {} code", stringify!($name)
                    )))
                })
            }
        }

        impl sea_orm::sea_query::ValueType for $name {
            fn try_from(v: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                let code = <String as sea_orm::sea_query::ValueType>::try_from(v)?;
                $name::from_code(&code).ok_or(sea_orm::sea_query::ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($name).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::String
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::String(sea_orm::sea_query::StringLen::None)
            }
        }

        impl sea_orm::sea_query::Nullable for $name {
            fn null() -> sea_orm::Value {
                sea_orm::Value::String(None)
            }
        }
    };
}
