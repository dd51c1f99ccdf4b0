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
    };
}
