//! Text to token indices, as Keras's `TextVectorization` (`output_mode="int"`): standardize,
//! split into words or characters, a vocabulary fitted on the training texts (index 0 is
//! padding, 1 the out-of-vocabulary token `[UNK]`, then tokens by falling frequency, ties in
//! the order first seen), and each text as a sequence of indices, padded or cut to a length.

use crate::error::{Error, Result};
use std::collections::HashMap;

/// How a text is cleaned before it is split (Keras's `standardize`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standardize {
    /// Lower-case, and remove ASCII punctuation `!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~` (default).
    #[default]
    LowerAndStripPunctuation,
    /// Lower-case only.
    Lower,
    /// As it is.
    None,
}

/// What a token is (Keras's `split`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Runs of non-whitespace (default).
    #[default]
    Whitespace,
    /// Every character, spaces and line breaks included (a character-level model).
    Character,
}

/// The index of padding.
pub const PAD: usize = 0;
/// The index of a token outside the vocabulary.
pub const OOV: usize = 1;
/// The out-of-vocabulary token's name in the vocabulary (Keras's).
pub const OOV_TOKEN: &str = "[UNK]";

/// A fitted vectorizer: its settings and vocabulary (see the module docs). Saved as its
/// vocabulary, one token per line, and rebuilt with [`TextVectorizer::from_vocabulary`].
#[derive(Clone, Debug, PartialEq)]
pub struct TextVectorizer {
    /// How texts are cleaned.
    pub standardize: Standardize,
    /// How texts are split.
    pub split: Split,
    /// Every sequence padded with 0 or cut to this many tokens; `None` keeps each text's length.
    pub output_sequence_length: Option<usize>,
    /// Index i's token; 0 is `""` (padding), 1 is `[UNK]`.
    vocabulary: Vec<String>,
    index: HashMap<String, usize>,
}

impl TextVectorizer {
    /// Fit the vocabulary on `texts`: at most `max_tokens` entries counting padding and
    /// `[UNK]` (Keras's convention), the most frequent tokens first.
    ///
    /// # Errors
    /// When `max_tokens` is below 3 (no room for one token), or the texts hold no token.
    pub fn adapt<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        standardize: Standardize,
        split: Split,
        max_tokens: Option<usize>,
        output_sequence_length: Option<usize>,
    ) -> Result<TextVectorizer> {
        if let Some(m) = max_tokens.filter(|&m| m < 3) {
            return Err(Error::invalid(
                "text vectorizer",
                format!("max_tokens = {m} leaves no room for a token beside padding and [UNK] (at least 3)"),
            ));
        }
        if output_sequence_length == Some(0) {
            return Err(Error::invalid("text vectorizer", "output_sequence_length must be at least 1"));
        }
        // Counts, and the order each token was first seen (the tie-break).
        let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
        for text in texts {
            for token in tokens(text, standardize, split) {
                let next = counts.len();
                counts.entry(token).or_insert((0, next)).0 += 1;
            }
        }
        if counts.is_empty() {
            return Err(Error::invalid("text vectorizer", "the texts hold no token to build a vocabulary from"));
        }
        let mut ranked: Vec<(String, (usize, usize))> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.1 .1.cmp(&b.1 .1)));
        let keep = max_tokens.map_or(ranked.len(), |m| m - 2);
        let vocabulary: Vec<String> = [String::new(), OOV_TOKEN.to_string()]
            .into_iter()
            .chain(ranked.into_iter().take(keep).map(|(t, _)| t).filter(|t| t != OOV_TOKEN))
            .collect();
        Ok(TextVectorizer::from_vocabulary(vocabulary, standardize, split, output_sequence_length))
    }

    /// A vectorizer with a given vocabulary (index 0 padding, 1 `[UNK]`), as read back from a
    /// run directory.
    pub fn from_vocabulary(
        vocabulary: Vec<String>,
        standardize: Standardize,
        split: Split,
        output_sequence_length: Option<usize>,
    ) -> TextVectorizer {
        let index = vocabulary.iter().enumerate().skip(2).map(|(i, t)| (t.clone(), i)).collect();
        TextVectorizer { standardize, split, output_sequence_length, vocabulary, index }
    }

    /// The vocabulary, index by index (Keras's `get_vocabulary()`).
    pub fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// The vocabulary's size: what an `embedding`'s `input_dim` must be.
    pub fn len(&self) -> usize {
        self.vocabulary.len()
    }

    /// Whether the vocabulary holds only padding and `[UNK]`.
    pub fn is_empty(&self) -> bool {
        self.vocabulary.len() <= 2
    }

    /// A text's token indices (`[UNK]` for unknown tokens), padded with 0 or cut at the end to
    /// `output_sequence_length` when it is set.
    pub fn encode(&self, text: &str) -> Vec<usize> {
        let mut ids: Vec<usize> =
            tokens(text, self.standardize, self.split).map(|t| self.index.get(&t).copied().unwrap_or(OOV)).collect();
        if let Some(n) = self.output_sequence_length {
            ids.resize(n, PAD);
        }
        ids
    }

    /// Indices back to text: tokens joined by a space (words) or nothing (characters), padding
    /// left out.
    pub fn decode(&self, ids: &[usize]) -> String {
        let words =
            ids.iter().filter(|&&i| i != PAD).map(|&i| self.vocabulary.get(i).map_or(OOV_TOKEN, String::as_str));
        let separator = if self.split == Split::Character { "" } else { " " };
        words.collect::<Vec<_>>().join(separator)
    }
}

/// Whether Keras's default standardization strips `c`.
fn is_stripped(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// The tokens of one text.
fn tokens(text: &str, standardize: Standardize, split: Split) -> Box<dyn Iterator<Item = String> + '_> {
    let clean: String = match standardize {
        Standardize::None => text.to_string(),
        Standardize::Lower => text.to_lowercase(),
        Standardize::LowerAndStripPunctuation => text.to_lowercase().chars().filter(|&c| !is_stripped(c)).collect(),
    };
    match split {
        Split::Whitespace => Box::new(clean.split_whitespace().map(str::to_string).collect::<Vec<_>>().into_iter()),
        Split::Character => Box::new(clean.chars().map(String::from).collect::<Vec<_>>().into_iter()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keras's conventions: 0 padding, 1 `[UNK]`, then by frequency (ties as first seen);
    /// punctuation stripped and case folded; unknown words to 1; padding and cutting.
    #[test]
    fn words_are_indexed_as_keras_does() {
        let texts = ["To be, or not to be: that is the question.", "The rest is silence!"];
        let v = TextVectorizer::adapt(texts, Standardize::default(), Split::Whitespace, None, Some(6)).unwrap();
        assert_eq!(&v.vocabulary()[..6], ["", "[UNK]", "to", "be", "is", "the"]);
        assert_eq!(
            v.encode("To be THE rest"),
            vec![2, 3, 5, v.vocabulary().iter().position(|t| t == "rest").unwrap(), 0, 0]
        );
        assert_eq!(v.encode("be gone, foul fiend, be gone now"), vec![3, OOV, OOV, OOV, 3, OOV]);
        assert_eq!(v.decode(&v.encode("to be or")), "to be or");
        let small = TextVectorizer::adapt(texts, Standardize::default(), Split::Whitespace, Some(4), None).unwrap();
        assert_eq!(small.vocabulary(), ["", "[UNK]", "to", "be"]);
        assert_eq!(small.encode("is to"), vec![OOV, 2]);
    }

    /// Characters, with nothing stripped: spaces and line breaks are tokens.
    #[test]
    fn characters_keep_every_symbol() {
        let v = TextVectorizer::adapt(["ab a\nb!"], Standardize::None, Split::Character, None, None).unwrap();
        assert_eq!(v.vocabulary(), ["", "[UNK]", "a", "b", " ", "\n", "!"]);
        assert_eq!(v.encode("ba?"), vec![3, 2, OOV]);
        assert_eq!(v.decode(&[2, 4, 3, 5]), "a b\n");
    }

    #[test]
    fn empty_texts_and_tiny_vocabularies_are_errors() {
        let e = TextVectorizer::adapt(["", "  ", "..."], Standardize::default(), Split::Whitespace, None, None);
        assert!(e.unwrap_err().to_string().contains("no token"));
        let e = TextVectorizer::adapt(["a b"], Standardize::default(), Split::Whitespace, Some(2), None);
        assert!(e.unwrap_err().to_string().contains("max_tokens = 2"));
        let e = TextVectorizer::adapt(["a b"], Standardize::default(), Split::Whitespace, None, Some(0));
        assert!(e.unwrap_err().to_string().contains("output_sequence_length"));
    }
}
