//! Statement text reaches the parser as the client sent it: regressions for the two bugs that
//! came from rewriting it first (issue 19), over a real connection.

mod common;

use tokio_postgres::SimpleQueryMessage;

fn first_value(messages: &[SimpleQueryMessage]) -> Option<String> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
        _ => None,
    })
}

/// `SELECT 'for key share'` returned `for share`: the lock strength was found by searching
/// the text, string literals included.
#[tokio::test]
async fn a_literal_that_reads_like_a_lock_clause_is_left_alone() {
    let client = common::connect(common::start_server()).await;
    for text in ["for key share", "FOR NO KEY UPDATE", "x for key share y"] {
        let sql = format!("SELECT '{text}'");
        let simple = client.simple_query(&sql).await.unwrap();
        assert_eq!(first_value(&simple).as_deref(), Some(text), "simple protocol: {sql}");
        let extended = client.query_one(&sql, &[]).await.unwrap();
        assert_eq!(extended.get::<_, String>(0), text, "extended protocol: {sql}");
    }
    client.simple_query("CREATE TABLE t (id int PRIMARY KEY, v text)").await.unwrap();
    client.simple_query("INSERT INTO t VALUES (1, 'for key share')").await.unwrap();
    let rows = client
        .simple_query("SELECT v FROM t WHERE v = 'for key share' FOR KEY SHARE")
        .await
        .unwrap();
    assert_eq!(first_value(&rows).as_deref(), Some("for key share"));
}

/// `SET application_name = 'It''s Me'` then SHOW returned `It''s Me`: the value was cut from
/// the text as words, quotes and all.
#[tokio::test]
async fn a_set_value_is_the_literal_it_spells() {
    let client = common::connect(common::start_server()).await;
    client.simple_query("SET application_name = 'It''s Me'").await.unwrap();
    let shown = client.simple_query("SHOW application_name").await.unwrap();
    assert_eq!(first_value(&shown).as_deref(), Some("It's Me"));
    client.simple_query("SET application_name TO 'a, b'").await.unwrap();
    let shown = client.simple_query("SHOW application_name").await.unwrap();
    assert_eq!(first_value(&shown).as_deref(), Some("a, b"));
}

/// A simple query is split into statements at semicolons outside strings: an escape string's
/// `\'` does not end it (`E'it\'s; x'` is one statement, not two).
#[tokio::test]
async fn an_escape_string_keeps_its_semicolon() {
    let client = common::connect(common::start_server()).await;
    let messages = client.simple_query("SELECT E'it\\'s; x'; SELECT 2").await.unwrap();
    let values: Vec<String> = messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    assert_eq!(values, vec!["it's; x".to_string(), "2".to_string()]);
}
