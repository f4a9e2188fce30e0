//! Chat templates: which family the model file's Jinja chat template belongs to, its default
//! system prompt, and conversations written as that family writes them.
//!
//! limbic runs no Jinja: it recognises the family by its turn markers and writes the turns
//! itself. For SmolLM2 the text is byte for byte what its template renders (tests/parity.rs):
//! a system turn (the one given, else the template's default), the turns, the assistant's turn
//! opened. Families known: ChatML, Gemma's and Llama 3's (written as llama.cpp writes them: each
//! turn's text trimmed; Gemma puts the system text at the head of the first user turn). A file
//! with no template or another family's has no chat ([`ChatTemplate::from_vocab`] says why);
//! plain text still works.

use crate::error::Result;
use crate::gguf::{clip, TokenType, Vocab};
use crate::tokenizer::Tokenizer;

/// Who speaks a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

/// A family of chat formats, by its turn markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `<|im_start|>{role}\n{text}<|im_end|>\n` (SmolLM2, Qwen2).
    ChatMl,
    /// `<start_of_turn>{user|model}\n{text}<end_of_turn>\n` (Gemma).
    Gemma,
    /// `<|start_header_id|>{role}<|end_header_id|>\n\n{text}<|eot_id|>` (Llama 3.x).
    Llama3,
    /// No markers: `User: {text}\n\n`, `Assistant: {text}\n\n` as plain text. Never a
    /// model's chat (a file without a template has none); how the corpus's dialogues are
    /// written for a base model ([`ChatTemplate::transcript`]).
    Transcript,
}

/// How the model expects a conversation to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTemplate {
    pub family: Family,
    /// The system prompt the template writes when none is given, if it writes one.
    pub default_system: Option<String>,
}

impl ChatTemplate {
    /// A dialogue written as a plain transcript, for a model without a chat format.
    pub fn transcript() -> Self {
        Self {
            family: Family::Transcript,
            default_system: None,
        }
    }

    /// The format a model's requests and dialogues are written in (the validation's requests,
    /// the corpus's dialogues, the bench prompt): its chat template; for a file with none (a
    /// base model) the plain [`ChatTemplate::transcript`]. A template limbic does not know is
    /// an error, never silently replaced by another format. The one rule for all of them.
    pub fn for_requests(vocab: &Vocab) -> std::result::Result<Self, String> {
        match vocab.chat_template {
            None => Ok(Self::transcript()),
            Some(_) => Self::from_vocab(vocab),
        }
    }

    /// The family of Jinja template `jinja`, with the default system prompt it writes as a
    /// literal; `None` when the family is not one limbic knows.
    pub fn recognise(jinja: &str) -> Option<Self> {
        if jinja.contains("<|im_start|>") && jinja.contains("<|im_end|>") {
            return Some(Self {
                family: Family::ChatMl,
                default_system: literal_turn(jinja, "<|im_start|>system", "<|im_end|>"),
            });
        }
        let family = if jinja.contains("<start_of_turn>") {
            Family::Gemma
        } else if jinja.contains("<|start_header_id|>") && jinja.contains("<|end_header_id|>") {
            Family::Llama3
        } else {
            return None;
        };
        Some(Self {
            family,
            default_system: None,
        })
    }

    /// The chat template of a model file's vocabulary, or why the model has no chat: no
    /// template, an unknown family, or turn markers that are not control tokens (they would be
    /// read as plain text).
    pub fn from_vocab(vocab: &Vocab) -> std::result::Result<Self, String> {
        let jinja = vocab
            .chat_template
            .as_deref()
            .ok_or("the model file has no chat template")?;
        let t = Self::recognise(jinja).ok_or_else(|| {
            format!(
                "the model's chat template is not a family limbic knows (ChatML, Gemma, \
                 Llama 3): {}",
                clip(jinja)
            )
        })?;
        for marker in t.markers() {
            let is_control =
                |(t, ty): (&String, &TokenType)| t == marker && *ty == TokenType::Control;
            if !vocab.tokens.iter().zip(&vocab.types).any(is_control) {
                return Err(format!(
                    "the chat template's marker {marker} is not a control token of the vocabulary"
                ));
            }
        }
        Ok(t)
    }

    /// The tokens that delimit turns.
    fn markers(&self) -> &'static [&'static str] {
        match self.family {
            Family::ChatMl => &["<|im_start|>", "<|im_end|>"],
            Family::Gemma => &["<start_of_turn>", "<end_of_turn>"],
            Family::Llama3 => &["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
            Family::Transcript => &[],
        }
    }

    /// The token that closes a turn: a reply ends there too, not only at the end of text.
    pub fn turn_end(&self) -> Option<&'static str> {
        match self.family {
            Family::ChatMl => Some("<|im_end|>"),
            Family::Gemma => Some("<end_of_turn>"),
            Family::Llama3 => Some("<|eot_id|>"),
            Family::Transcript => None,
        }
    }

    /// One closed turn of `role` saying `text`.
    pub fn turn(&self, role: Role, text: &str) -> String {
        match self.family {
            Family::ChatMl => {
                let role = match role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                format!("<|im_start|>{role}\n{text}<|im_end|>\n")
            }
            Family::Gemma => {
                let role = match role {
                    Role::Assistant => "model",
                    _ => "user", // a system turn is the head of the first user turn: prompt()
                };
                format!("<start_of_turn>{role}\n{}<end_of_turn>\n", text.trim())
            }
            Family::Llama3 => {
                let role = match role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                format!(
                    "<|start_header_id|>{role}<|end_header_id|>\n\n{}<|eot_id|>",
                    text.trim()
                )
            }
            Family::Transcript => match role {
                Role::System => format!("{text}\n\n"),
                Role::User => format!("User: {text}\n\n"),
                Role::Assistant => format!("Assistant: {text}\n\n"),
            },
        }
    }

    /// The opening of the assistant's turn: the reply follows it.
    pub fn reply_start(&self) -> &'static str {
        match self.family {
            Family::ChatMl => "<|im_start|>assistant\n",
            Family::Gemma => "<start_of_turn>model\n",
            Family::Llama3 => "<|start_header_id|>assistant<|end_header_id|>\n\n",
            Family::Transcript => "Assistant:",
        }
    }

    /// A conversation: the system turn (`system`, else the default; none when neither), the
    /// earlier turns (`history` alternates user and assistant, starting with the user), `user`'s
    /// new turn, and the assistant's turn opened.
    pub fn prompt(&self, history: &[String], user: &str, system: Option<&str>) -> String {
        let mut text = String::new();
        // Gemma has no system turn: its text heads the first user turn.
        let mut head = None;
        if let Some(system) = system.or(self.default_system.as_deref()) {
            match self.family {
                Family::Gemma => head = Some(format!("{}\n\n", system.trim())),
                _ => text.push_str(&self.turn(Role::System, system)),
            }
        }
        let turns = history.iter().map(String::as_str).chain([user]);
        for (i, turn) in turns.enumerate() {
            if i % 2 == 1 {
                text.push_str(&self.turn(Role::Assistant, turn));
            } else if let Some(head) = head.take() {
                text.push_str(&self.turn(Role::User, &(head + turn.trim())));
            } else {
                text.push_str(&self.turn(Role::User, turn));
            }
        }
        text.push_str(self.reply_start());
        text
    }
}

/// The first text between `open` + newline and `close` that the template writes from inside
/// one string literal (no quotes or Jinja braces in it): a turn with fixed text, such as the
/// default system prompt. The newline may be a real one or Jinja's `\n` escape.
fn literal_turn(jinja: &str, open: &str, close: &str) -> Option<String> {
    let mut rest = jinja;
    while let Some(i) = rest.find(open) {
        rest = &rest[i + open.len()..];
        let Some(body) = rest.strip_prefix('\n').or_else(|| rest.strip_prefix("\\n")) else {
            continue;
        };
        let text = &body[..body.find(close)?];
        if !text.is_empty() && !text.contains(['\'', '"', '{', '}']) {
            return Some(text.replace("\\n", "\n"));
        }
    }
    None
}

/// Where the user's text sits in the ids of a chat prompt: the last place the user's own
/// tokens occur, and from the first user turn on in a continued conversation (`history`'s
/// turns are prompt too). A text is looked for as it is and, failing that, as it reads after a
/// space (a transcript's "User: …", where a SentencePiece vocabulary joins the space to the
/// first word). `(start, end)`; the whole prompt when the text is not found.
pub fn user_span(
    tok: &Tokenizer,
    ids: &[u32],
    history: &[String],
    user: &str,
) -> Result<(usize, usize)> {
    let locate = |text: &str, last: bool| -> Result<Option<(usize, usize)>> {
        for t in [text.to_string(), format!(" {text}")] {
            let own = tok.encode(&t)?;
            if let Some(at) = find(ids, &own, last) {
                return Ok(Some((at, own.len())));
            }
        }
        Ok(None)
    };
    let last = locate(user, true)?;
    let first = match history.first() {
        Some(turn) => locate(turn, false)?.map(|(at, _)| at),
        None => None,
    };
    Ok((
        first.or(last.map(|(at, _)| at)).unwrap_or(0),
        last.map_or(ids.len(), |(at, n)| at + n),
    ))
}

/// Where `needle` occurs in `hay` (the last occurrence with `last`, else the first).
fn find(hay: &[u32], needle: &[u32], last: bool) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    let mut at = (0..=hay.len() - needle.len()).filter(|&i| hay[i..].starts_with(needle));
    if last {
        at.next_back()
    } else {
        at.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::TokenizerModel;

    /// SmolLM2-135M-Instruct's template as its file holds it.
    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    /// Qwen2.5's opening: the given system turn first (not a literal), then the default, with
    /// escaped newlines.
    const QWEN25: &str = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud.\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}";

    const GEMMA3: &str = "{{ bos_token }}{%- for message in messages -%}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{'<start_of_turn>model\n'}}{%- endif -%}";

    fn vocab(template: Option<&str>, control: &[&str]) -> Vocab {
        let tokens: Vec<String> = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Vocab {
            model: TokenizerModel::Bpe,
            types: tokens
                .iter()
                .map(|t| match control.contains(&t.as_str()) {
                    true => TokenType::Control,
                    false => TokenType::Normal,
                })
                .collect(),
            tokens,
            scores: Vec::new(),
            merges: Vec::new(),
            bos: 1,
            eos: 2,
            pre: Some("smollm".into()),
            chat_template: template.map(str::to_string),
            add_bos: None,
            add_space_prefix: None,
        }
    }

    #[test]
    fn smollm2_is_chatml_with_its_system_prompt() {
        let t = ChatTemplate::recognise(SMOLLM2).unwrap();
        assert_eq!(t.family, Family::ChatMl);
        assert_eq!(
            t.default_system.as_deref(),
            Some("You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        );
        assert_eq!(
            t.prompt(&[], "hi", None),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
             Face<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn the_default_system_prompt_is_the_literal_one() {
        let t = ChatTemplate::recognise(QWEN25).unwrap();
        assert_eq!(
            t.default_system.as_deref(),
            Some("You are Qwen, created by Alibaba Cloud.\nYou are a helpful assistant.")
        );
        // No literal system turn: no default, and no system turn unless one is given.
        let plain = "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n'}}{% endfor %}";
        let t = ChatTemplate::recognise(plain).unwrap();
        assert_eq!(t.default_system, None);
        assert_eq!(
            t.prompt(&["hi".into(), "Hello!".into()], "and?", None),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n\
             <|im_start|>user\nand?<|im_end|>\n<|im_start|>assistant\n"
        );
        assert!(t
            .prompt(&[], "x", Some("S"))
            .starts_with("<|im_start|>system\nS<|im_end|>\n"));
    }

    #[test]
    fn chat_is_unavailable_without_a_known_template_and_says_why() {
        let all = ["<|im_start|>", "<|im_end|>"];
        assert_eq!(
            ChatTemplate::from_vocab(&vocab(Some(SMOLLM2), &all))
                .unwrap()
                .family,
            Family::ChatMl
        );
        assert_eq!(
            ChatTemplate::from_vocab(&vocab(None, &all)).unwrap_err(),
            "the model file has no chat template"
        );
        // Gemma's family is known, but this vocabulary lacks its markers.
        assert_eq!(
            ChatTemplate::recognise(GEMMA3).unwrap().family,
            Family::Gemma
        );
        assert_eq!(
            ChatTemplate::from_vocab(&vocab(Some(GEMMA3), &all)).unwrap_err(),
            "the chat template's marker <start_of_turn> is not a control token of the vocabulary"
        );
        let mistral =
            "{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]\n{% endfor %}";
        assert_eq!(ChatTemplate::recognise(mistral), None);
        let e = ChatTemplate::from_vocab(&vocab(Some(mistral), &all)).unwrap_err();
        assert!(
            e.starts_with("the model's chat template is not a family limbic knows"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        assert_eq!(
            ChatTemplate::from_vocab(&vocab(Some(SMOLLM2), &["<|im_start|>"])).unwrap_err(),
            "the chat template's marker <|im_end|> is not a control token of the vocabulary"
        );
    }

    /// llama.cpp's own rendering (llama_chat_apply_template, llama-cpp-python 0.3.36) of a
    /// system turn " Be brief. ", then "Hi. ", " Hello!", "Tea?", for each family.
    #[test]
    fn gemma_and_llama3_are_written_as_llama_cpp_writes_them() {
        let history = ["Hi. ".to_string(), " Hello!".to_string()];
        let gemma = ChatTemplate::recognise("{{ bos_token }}<start_of_turn>user").unwrap();
        assert_eq!(gemma.family, Family::Gemma);
        assert_eq!(
            gemma.prompt(&history, "Tea?", Some(" Be brief. ")),
            "<start_of_turn>user\nBe brief.\n\nHi.<end_of_turn>\n<start_of_turn>model\nHello!\
             <end_of_turn>\n<start_of_turn>user\nTea?<end_of_turn>\n<start_of_turn>model\n"
        );
        assert_eq!(
            gemma.prompt(&[], "Tea?", None),
            "<start_of_turn>user\nTea?<end_of_turn>\n<start_of_turn>model\n"
        );
        let llama3 = "<|start_header_id|>{{ m['role'] }}<|end_header_id|>";
        let llama3 = ChatTemplate::recognise(llama3).unwrap();
        assert_eq!(llama3.family, Family::Llama3);
        assert_eq!(
            llama3.prompt(&history, "Tea?", Some(" Be brief. ")),
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nHi.<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nTea?<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n"
        );
        assert_eq!(
            (gemma.turn_end(), llama3.turn_end()),
            (Some("<end_of_turn>"), Some("<|eot_id|>"))
        );
    }

    #[test]
    fn requests_are_the_chat_format_or_for_a_file_without_one_a_transcript() {
        let control = ["<|im_start|>", "<|im_end|>"];
        let chat = ChatTemplate::for_requests(&vocab(Some(SMOLLM2), &control)).unwrap();
        assert_eq!(chat.family, Family::ChatMl);
        let none = ChatTemplate::for_requests(&vocab(None, &control)).unwrap();
        assert_eq!(none.family, Family::Transcript);
        // An unknown template is refused, not written as a transcript.
        let unknown = ChatTemplate::for_requests(&vocab(Some("{{ messages }}"), &control));
        assert!(unknown.unwrap_err().contains("not a family limbic knows"));
    }

    #[test]
    fn a_transcript_is_plain_text() {
        let t = ChatTemplate::transcript();
        let text = t.prompt(&["Hi.".into(), "Hello!".into()], "Tea?", None);
        assert_eq!(
            text,
            "User: Hi.\n\nAssistant: Hello!\n\nUser: Tea?\n\nAssistant:"
        );
    }

    #[test]
    fn find_gives_the_first_or_last_run() {
        assert_eq!(find(&[1, 2, 3, 1, 2], &[1, 2], true), Some(3));
        assert_eq!(find(&[1, 2, 3, 1, 2], &[1, 2], false), Some(0));
        assert_eq!(find(&[1, 2, 3], &[4], true), None);
        assert_eq!(find(&[1, 2, 3], &[], true), None);
        assert_eq!(find(&[1], &[1, 1], false), None);
    }
}
