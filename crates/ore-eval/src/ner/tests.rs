//! Hand-written cases; each expected value is what seqeval 1.2.2's
//! `get_entities` gives (its inclusive ends made exclusive).

use super::*;

fn spans(tags: &[&str]) -> Vec<(String, usize, usize)> {
    chunks(tags)
        .into_iter()
        .map(|c| (c.label, c.start, c.end))
        .collect()
}

fn expect(items: &[(&str, usize, usize)]) -> Vec<(String, usize, usize)> {
    items
        .iter()
        .map(|&(l, s, e)| (l.to_string(), s, e))
        .collect()
}

#[test]
fn iob2_entities_and_a_trailing_one() {
    assert_eq!(
        spans(&["B-PER", "I-PER", "O", "B-LOC"]),
        expect(&[("PER", 0, 2), ("LOC", 3, 4)])
    );
    assert_eq!(spans(&["O", "B-X"]), expect(&[("X", 1, 2)]));
    assert_eq!(spans(&["O", "O"]), expect(&[]));
    assert_eq!(spans(&[]), expect(&[]));
}

#[test]
fn i_without_b_starts_an_entity() {
    assert_eq!(spans(&["O", "I-PER", "I-PER"]), expect(&[("PER", 1, 3)]));
    // IOB1: B- only separates two adjacent entities of one type.
    assert_eq!(
        spans(&["I-X", "B-X", "I-X"]),
        expect(&[("X", 0, 1), ("X", 1, 3)])
    );
    assert_eq!(
        spans(&["B-PER", "O", "I-PER"]),
        expect(&[("PER", 0, 1), ("PER", 2, 3)])
    );
}

#[test]
fn a_type_switch_inside_a_run_ends_the_entity() {
    assert_eq!(
        spans(&["B-PER", "I-LOC", "I-LOC"]),
        expect(&[("PER", 0, 1), ("LOC", 1, 3)])
    );
    assert_eq!(
        spans(&["B-X", "I-Y", "E-Y", "I-Y"]),
        expect(&[("X", 0, 1), ("Y", 1, 3), ("Y", 3, 4)])
    );
}

#[test]
fn b_after_b_of_one_type_is_two_entities() {
    assert_eq!(spans(&["B-X", "B-X"]), expect(&[("X", 0, 1), ("X", 1, 2)]));
}

#[test]
fn iobes_tags_decode() {
    assert_eq!(
        spans(&["S-X", "B-Y", "I-Y", "E-Y", "O", "E-Z", "S-Z", "I-Z", "E-Z"]),
        expect(&[
            ("X", 0, 1),
            ("Y", 1, 4),
            ("Z", 5, 6),
            ("Z", 6, 7),
            ("Z", 7, 9)
        ])
    );
    assert_eq!(
        spans(&["B-X", "E-X", "E-X"]),
        expect(&[("X", 0, 2), ("X", 2, 3)])
    );
}

#[test]
fn odd_tags_read_as_seqeval_reads_them() {
    // `.` neither starts nor ends an entity; the entity after it keeps the
    // start seqeval last recorded.
    assert_eq!(
        spans(&["S-X", ".Y", "E-Y"]),
        expect(&[("X", 0, 1), ("Y", 0, 3)])
    );
    // An unknown prefix runs while its type does; a bare `B` has type `_`.
    assert_eq!(
        spans(&["M-LOC", "M-LOC", "O", "B"]),
        expect(&[("LOC", 0, 2), ("_", 3, 4)])
    );
    // `OUT` is an `O` of type `UT`.
    assert_eq!(
        spans(&["I-PER", "OUT", "I-UT"]),
        expect(&[("PER", 0, 1), ("UT", 2, 3)])
    );
    // The type is what follows the first `-`.
    assert_eq!(spans(&["B-B-X", "I-B-X"]), expect(&[("B-X", 0, 2)]));
    assert_eq!(read_tag(""), ('O', "_"));
    assert_eq!(read_tag("B-"), ('B', "_"));
    assert_eq!(read_tag("BPER"), ('B', "PER"));
}

#[test]
fn sentences_are_joined_with_o_between_them() {
    // An entity at the end of one sentence and one at the start of the next
    // stay two entities.
    let gold = vec![vec!["O", "I-X"], vec!["I-X", "O"]];
    let scores = score(&gold, &gold).unwrap();
    assert_eq!((scores.overall.support, scores.overall.correct), (2, 2));
    // A bare `M` (type `_`) is never closed by the `O`s seqeval adds, so it
    // is no entity at all.
    let odd = vec![vec!["B-X", "M"], vec!["M", "O"]];
    let scores = score(&odd, &odd).unwrap();
    assert_eq!(scores.overall.support, 1);
}

#[test]
fn scores_per_type_and_micro_averaged() {
    let gold = vec![
        vec!["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"],
        vec!["B-PER", "I-PER", "O"],
    ];
    let predicted = vec![
        vec!["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"],
        vec!["B-PER", "I-PER", "O"],
    ];
    let scores = score(&gold, &predicted).unwrap();
    assert_eq!(scores.overall, LabelScores::from_counts(1, 2, 2));
    assert_eq!(scores.overall.f1, 0.5);
    assert_eq!(scores.per_label["MISC"].f1, 0.0);
    assert_eq!(scores.per_label["PER"].precision, 1.0);
    assert_eq!(scores.per_label.len(), 2);
}

#[test]
fn a_type_only_predicted_is_listed_with_zero_support() {
    let gold = vec![vec!["B-PER", "O"]];
    let predicted = vec![vec!["B-PER", "B-ORG"]];
    let scores = score(&gold, &predicted).unwrap();
    let org = scores.per_label["ORG"];
    assert_eq!((org.support, org.predicted, org.correct), (0, 1, 0));
    assert_eq!((org.precision, org.recall, org.f1), (0.0, 0.0, 0.0));
    assert_eq!(scores.overall.precision, 0.5);
    assert_eq!(scores.overall.recall, 1.0);
}

#[test]
fn no_entities_anywhere_scores_zero() {
    let tags = vec![vec!["O", "O"]];
    let scores = score(&tags, &tags).unwrap();
    assert_eq!(scores.overall, LabelScores::from_counts(0, 0, 0));
    assert_eq!(scores.overall.f1, 0.0);
    assert!(scores.per_label.is_empty());
}

#[test]
fn mismatched_lengths_name_the_sentence() {
    let gold = vec![vec!["O"], vec!["B-X", "O"]];
    let predicted = vec![vec!["O"], vec!["B-X"]];
    assert_eq!(
        score(&gold, &predicted),
        Err(NerError::LengthMismatch {
            sentence: 1,
            gold: 2,
            predicted: 1
        })
    );
    assert_eq!(
        score(&gold, &predicted[..1]),
        Err(NerError::SentenceCount {
            gold: 2,
            predicted: 1
        })
    );
    assert_eq!(
        score(&gold, &predicted).unwrap_err().to_string(),
        "sentence 1: 2 gold tags but 1 predicted ones"
    );
}

#[test]
fn gold_and_predicted_may_be_different_string_types() {
    let gold: Vec<Vec<String>> = vec![vec!["B-X".into(), "O".into()]];
    let predicted = [["B-X", "O"]];
    assert_eq!(score(&gold, &predicted).unwrap().overall.f1, 1.0);
}

#[test]
fn iob2_tags_round_trip_through_chunks() {
    let tags = iob2_tags(6, &[(3, 5, "LOC"), (0, 2, "PER"), (5, 6, "LOC")]);
    assert_eq!(tags, ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-LOC"]);
    assert_eq!(
        spans(&tags.iter().map(String::as_str).collect::<Vec<_>>()),
        expect(&[("PER", 0, 2), ("LOC", 3, 5), ("LOC", 5, 6)])
    );
    // Overlapping and empty spans are left out, a long one is cut.
    assert_eq!(
        iob2_tags(3, &[(0, 2, "A"), (1, 3, "B"), (2, 2, "C"), (2, 9, "D")]),
        ["B-A", "I-A", "B-D"]
    );
}
