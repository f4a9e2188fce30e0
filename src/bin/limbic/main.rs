//! The `limbic` command line: tokenize, logits, generate, bench, and the emotion verbs
//! (extract, probe, next, export; in `emotion.rs`). Output contracts are in each verb's help;
//! `--json` output is one JSON object on stdout.

mod bench;
mod emotion;
mod generated;
mod import;
mod make;
mod stats;
mod steer_choice;
mod steer_sweep;
mod svg;
mod validate;
mod validate_dose;
mod validate_lexicon;
mod validate_readout;
mod validate_steering;
mod validate_text;
mod validate_valence;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;

use limbic::emotions::EmotionSet;
use limbic::io::model_sha256;
use limbic::tokenizer::Tokenizer;
use limbic::{Result, Sampler, Session};

#[derive(Parser)]
#[command(
    name = "limbic",
    version,
    about = "SmolLM2-135M-Instruct with readable, steerable emotion representations"
)]
struct Cli {
    /// Model file (GGUF).
    #[arg(long, global = true, default_value = limbic::DEFAULT_MODEL)]
    model: PathBuf,
    /// Emotion vectors file (made by `limbic extract`).
    #[arg(long, global = true, default_value = limbic::DEFAULT_VECTORS)]
    vectors: PathBuf,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Reads the story corpus and writes the emotion vectors (the paper's method), with a report.
    Extract {
        #[arg(long, default_value = "data/corpus")]
        corpus: PathBuf,
        #[arg(long, default_value = limbic::DEFAULT_VECTORS)]
        out: PathBuf,
        /// How every choice was made (cross-validation), test accuracy, neutral PCs, norms.
        #[arg(long, default_value = "data/vectors/extract_report.json")]
        report: PathBuf,
        /// Where the one pass over the corpus is cached (keyed by the model and every text).
        #[arg(long, default_value = "target/limbic-cache")]
        cache: PathBuf,
        /// Only re-measure the readout's neutral calibration and intensity floor of the vectors
        /// file OUT (its vectors unchanged; a few minutes).
        #[arg(long)]
        calibrate_only: bool,
        /// Only measure the neutral principal components again and store them in OUT.
        #[arg(long)]
        neutral_basis_only: bool,
    },
    /// Emotion scores of texts: each input line {"id","text"} → one JSON line
    /// {"id","n_tokens","layer","mean":{emotion:score},"last":{..},"tokens":[..],"per_token"?}
    Probe {
        #[arg(long)]
        input: PathBuf,
        /// Wrap each text as a user turn and open the assistant's turn (`last` is then the Assistant's state).
        #[arg(long)]
        chat: bool,
        #[arg(long)]
        layer: Option<usize>,
        /// Also print (T, n_emotions) scores per token.
        #[arg(long)]
        per_token: bool,
    },
    /// Next-token probabilities of words, optionally steered: {"ids":[prompt ids],"prob_of":{WORD:p},"top":[{"id","token","p"}]}
    Next {
        #[arg(long)]
        text: String,
        #[command(flatten)]
        chat: Chat,
        #[arg(long)]
        steer: Vec<String>,
        #[arg(long)]
        layer: Option<usize>,
        /// Steer with a llama.cpp / repeng control vector: FILE[:STRENGTH] (default 1). Repeatable.
        #[arg(long)]
        control_vector: Vec<String>,
        /// Comma-separated words; p is that of each word's first token as written (leading space included).
        #[arg(long, value_delimiter = ',')]
        prob_of: Vec<String>,
        #[arg(long, default_value_t = 10)]
        top: usize,
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
    },
    /// Runs the paper's checks on the vectors and writes report.md, report.json and SVG plots.
    Validate {
        #[arg(long, default_value = "docs/validation")]
        out: PathBuf,
        /// The corpus (its test split and held-out neutral texts are read for the per-token readout).
        #[arg(long, default_value = "data/corpus")]
        corpus: PathBuf,
        /// The report `limbic extract` wrote (cross-validation and test accuracy).
        #[arg(long, default_value = "data/vectors/extract_report.json")]
        extract_report: PathBuf,
        /// CSV emotion,valence,arousal (scripts/validation_data.py norms).
        #[arg(long)]
        norms: Option<PathBuf>,
        /// Sentences, "book<TAB>sentence" per line (scripts/validation_data.py austen).
        #[arg(long)]
        austen: Option<PathBuf>,
        /// How many of those sentences to read.
        #[arg(long, default_value_t = 1500)]
        austen_sample: usize,
    },
    /// Chooses the steering direction, layers and per-emotion strengths by an outside measure
    /// (VADER, perplexity) on prompts the report does not show, measures them on others, writes
    /// OUT/steering.json and the choice into the vectors file.
    SteerSweep {
        #[arg(long, default_value = "docs/validation")]
        out: PathBuf,
        /// Where the model's generated stories (and their means) are cached.
        #[arg(long, default_value = "target/limbic-cache")]
        cache: PathBuf,
        /// The choice's sampling seeds, comma-separated (none of the report's 1, 2, 3): others
        /// than the default show whether the choice holds.
        #[arg(long, value_delimiter = ',', default_values_t = steer_sweep::CHOICE_SEEDS)]
        choice_seeds: Vec<u64>,
        /// Instead of measuring the choice, pool the choice tables of earlier sweeps' files
        /// (comma-separated; the same grid, other seeds): the same cells as one sweep over all
        /// their seeds, in a fraction of the time.
        #[arg(long, value_delimiter = ',', conflicts_with = "choice_seeds")]
        reuse_choice: Vec<PathBuf>,
        /// Measure only these of the grid's layer sets (comma-separated, `A` or `A-B` each):
        /// a table that `--reuse-choice` joins with an earlier one with the same seeds over the
        /// others.
        #[arg(long, value_delimiter = ',', conflicts_with = "reuse_choice")]
        layer_sets: Vec<String>,
    },
    /// Writes steering vectors for other tools: a llama.cpp control vector (GGUF) or JSON for the web.
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Block range A-B (inclusive), numbered from 0 like the hook names; each emotion's full
        /// strength at each. Needed for JSON; for llama.cpp, without it the file holds exactly
        /// what `--steer` adds (each emotion's steering layers, its strength split over them),
        /// so llama.cpp at strength 1 steers as limbic does.
        #[arg(long)]
        layers: Option<String>,
        /// Emotions for the llama.cpp format: NAME[:STRENGTH] (default: the emotion's own strength, as --steer), repeatable.
        #[arg(long)]
        steer: Vec<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Reads a llama.cpp / repeng control vector (GGUF), checks it against the model and lists its
    /// layers: {"model_hint","n_embd","layers","norms","hook"}; steer with `--control-vector`.
    Import {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Text → token ids: {"ids":[..],"tokens":[..]}
    Tokenize {
        #[arg(long)]
        text: String,
        #[command(flatten)]
        chat: Chat,
        #[arg(long)]
        json: bool,
    },
    /// Log-probabilities of the next token after the text: {"ids","top":[{"id","token","logprob"}],"sha256","logprobs"?}
    /// (`sha256`: of every log-probability's f32 bytes, to compare two builds bit for bit)
    Logits {
        #[arg(long)]
        text: String,
        #[command(flatten)]
        chat: Chat,
        /// How many of the most likely tokens to list.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Also print the log-probability of every token in the vocabulary.
        #[arg(long)]
        full: bool,
        #[arg(long)]
        json: bool,
    },
    /// Generates a reply, streaming it; with --json prints {"text","ids","tokens"} at the end.
    Generate(GenerateArgs),
    /// A vector made from your texts (one per line), timed, with its nearest emotions.
    MakeVector {
        #[command(flatten)]
        args: make::MakeArgs,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
    },
    /// Measures load time, prompt and decode speed: {"load_s","prompt_tokens","prompt_tps","decode_tps"}
    Bench {
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
        /// Tokens to generate (greedy); decode speed counts all but the first.
        #[arg(long, default_value_t = 128)]
        tokens: usize,
        /// Instead: decode speed with no hooks, with the 171-emotion readout, and with readout plus
        /// a steer, alternating over 5 runs; prints medians and overheads.
        #[arg(long)]
        hooks: bool,
        /// Instead: N sampled replies (the steering sweep's kind) one at a time and all at once on
        /// one thread, alternating over 3 runs; prints medians of tokens/s and their ratio.
        #[arg(long, value_name = "N")]
        replies: Option<usize>,
        /// Greedy passes the GPU records ahead of the token it reads back (0–3; 0: none;
        /// default: 3 on a real GPU, 0 on a CPU emulating one).
        #[arg(long)]
        ahead: Option<usize>,
        /// Time a longer prompt: the bench request after a passage repeated until the prompt has
        /// at least this many tokens (a conversation's length, e.g. 500); default: the bench
        /// prompt alone (42 tokens).
        #[arg(long)]
        prompt_tokens: Option<usize>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct Chat {
    /// Wrap the text as one user turn (the model's chat format) and open the assistant's turn.
    #[arg(long)]
    chat: bool,
    /// System prompt for --chat (default: the model's own).
    #[arg(long)]
    system: Option<String>,
}

impl Chat {
    /// `text` as the model reads it; an error when chat is asked of a model without it.
    fn wrap(&self, tokenizer: &Tokenizer, text: &str) -> Result<String> {
        if self.chat {
            tokenizer.chat_prompt(text, self.system.as_deref())
        } else {
            Ok(text.to_string())
        }
    }
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
struct GenerateArgs {
    #[arg(long)]
    prompt: String,
    #[command(flatten)]
    chat: Chat,
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    #[arg(long, default_value_t = 1.0)]
    top_p: f64,
    #[arg(long, default_value_t = 1.0)]
    repeat_penalty: f32,
    #[arg(long, default_value_t = Sampler::default().seed)]
    seed: u64,
    /// Steer toward an emotion: NAME or NAME:STRENGTH (a fraction of the mean residual norm). Repeatable.
    #[arg(long)]
    steer: Vec<String>,
    /// Layer (block output) to steer at; default from the vectors file.
    #[arg(long)]
    layer: Option<usize>,
    /// Steer with a llama.cpp / repeng control vector: FILE[:STRENGTH] (default 1). Repeatable.
    #[arg(long)]
    control_vector: Vec<String>,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum ExportFormat {
    LlamaCpp,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum BackendKind {
    Cpu,
    Gpu,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The model on the chosen backend: on the CPU read from its file matrix by matrix, never
/// whole in memory. Asked for the GPU and none works, it runs on the CPU and says why on
/// stderr.
fn load_session(model: &Path, backend: BackendKind) -> Result<Session> {
    let session = match backend {
        BackendKind::Cpu => Session::open(model)?,
        BackendKind::Gpu => Session::gpu_native(limbic::io::read_model_file(model)?)?,
    };
    if let Some(why) = &session.fallback {
        eprintln!("note: {why}; running on the CPU");
    }
    Ok(session)
}

/// The emotion vectors only when steering by emotion (the model then hashed to match them):
/// any model runs unsteered without a vectors file.
fn vectors_for_steers(
    model: &Path,
    vectors: &Path,
    steer: &[String],
) -> Result<Option<EmotionSet>> {
    if steer.is_empty() {
        return Ok(None);
    }
    Ok(Some(vectors_for(model, vectors)?))
}

/// The emotion vectors made for this very model file.
fn vectors_for(model: &Path, vectors: &Path) -> Result<EmotionSet> {
    EmotionSet::load(vectors, Some(&model_sha256(model)?))
}

/// The engine on the CPU and the emotion vectors made for its model file.
fn load_with_vectors(model: &Path, vectors: &Path) -> Result<(Session, EmotionSet)> {
    let set = vectors_for(model, vectors)?;
    Ok((Session::open(model)?, set))
}

fn run(cli: Cli) -> Result<()> {
    match cli.verb {
        Verb::Import { file, json } => {
            let config = limbic::Header::read(&mut limbic::io::open_model(&cli.model)?)?.config;
            import::run(&file, &config, json)?
        }
        Verb::Tokenize { text, chat, json } => {
            let engine = Session::open(&cli.model)?;
            let ids = engine
                .tokenizer
                .encode(&chat.wrap(&engine.tokenizer, &text)?)?;
            let tokens = engine.tokenizer.pieces(&ids)?;
            if json {
                println!("{}", json!({ "ids": ids, "tokens": tokens }));
            } else {
                for (id, t) in ids.iter().zip(&tokens) {
                    println!("{id}\t{t:?}");
                }
            }
        }
        Verb::Logits {
            text,
            chat,
            top,
            full,
            json,
        } => {
            let mut engine = Session::open(&cli.model)?;
            let ids = engine.encode_prompt(&chat.wrap(&engine.tokenizer, &text)?)?;
            let logprobs = limbic::numerics::log_softmax(&engine.run(&ids)?.logits);
            let mut order: Vec<usize> = (0..logprobs.len()).collect();
            order.sort_by(|&a, &b| logprobs[b].total_cmp(&logprobs[a]));
            let top: Vec<_> = order[..top.min(order.len())]
                .iter()
                .map(|&i| Ok(json!({"id": i, "token": engine.tokenizer.decode(&[i as u32])?, "logprob": logprobs[i]})))
                .collect::<Result<_>>()?;
            let digest = limbic::numerics::digest(&logprobs);
            let mut out = json!({ "ids": ids, "top": top, "sha256": digest });
            if full {
                out["logprobs"] = json!(logprobs);
            }
            if json {
                println!("{out}");
            } else {
                for t in out["top"].as_array().into_iter().flatten() {
                    println!(
                        "{:>8.4}  {}  {:?}",
                        t["logprob"].as_f64().unwrap_or(f64::NAN),
                        t["id"],
                        t["token"]
                    );
                }
            }
        }
        Verb::Generate(a) => generate(&cli.model, &cli.vectors, a)?,
        Verb::MakeVector { args, backend } => {
            let set = vectors_for(&cli.model, &cli.vectors)?;
            make::run(&mut load_session(&cli.model, backend)?, &set, args)?
        }
        Verb::Extract {
            corpus,
            out,
            report,
            cache,
            calibrate_only,
            neutral_basis_only,
        } => {
            if neutral_basis_only {
                emotion::run_neutral_basis(&cli.model, &corpus, &out)?
            } else if calibrate_only {
                emotion::run_calibrate(&cli.model, &corpus, &out)?
            } else {
                emotion::run_extract(&cli.model, &corpus, &out, &report, &cache)?
            }
        }
        Verb::Probe {
            input,
            chat,
            layer,
            per_token,
        } => {
            let (mut engine, set) = load_with_vectors(&cli.model, &cli.vectors)?;
            emotion::run_probe(
                &mut engine,
                &set,
                emotion::ProbeArgs {
                    input: &input,
                    chat,
                    layer,
                    per_token,
                },
            )?
        }
        Verb::Next {
            text,
            chat,
            steer,
            layer,
            control_vector,
            prob_of,
            top,
            json,
            backend,
        } => {
            let set = vectors_for_steers(&cli.model, &cli.vectors, &steer)?;
            let mut engine = load_session(&cli.model, backend)?;
            emotion::check_layer(layer, engine.config().n_layer)?;
            let extra = import::terms(&control_vector, engine.config())?;
            let (hooks, _) = emotion::steer_hooks(set.as_ref(), &steer, layer, &extra)?;
            let prompt = chat.wrap(&engine.tokenizer, &text)?;
            let out = emotion::run_next(&mut engine, &prompt, &hooks, &prob_of, top)?;
            if json {
                println!("{out}");
            } else {
                for (w, p) in out["prob_of"].as_object().into_iter().flatten() {
                    println!("p({w:?}) = {p}");
                }
            }
        }
        Verb::Validate {
            out,
            corpus,
            extract_report,
            norms,
            austen,
            austen_sample,
        } => validate::run(
            &cli.model,
            &cli.vectors,
            validate::Args {
                out,
                corpus,
                extract_report,
                norms,
                austen,
                austen_sample,
            },
        )?,
        Verb::SteerSweep {
            out,
            cache,
            choice_seeds,
            reuse_choice,
            layer_sets,
        } => steer_sweep::run(
            &cli.model,
            &cli.vectors,
            &out,
            &cache,
            (&choice_seeds, &layer_sets),
            &reuse_choice,
        )?,
        Verb::Export {
            format,
            layers,
            steer,
            out,
        } => {
            let set = vectors_for(&cli.model, &cli.vectors)?;
            let layers = layers
                .map(|l| emotion::parse_layers(&l, set.n_layer()))
                .transpose()?;
            match (format, layers) {
                (ExportFormat::Json, Some(layers)) => emotion::export_json(&set, &layers, &out)?,
                (ExportFormat::Json, None) => {
                    return Err(limbic::Error::Steer(
                        "--format json needs --layers A-B".into(),
                    ))
                }
                (ExportFormat::LlamaCpp, layers) => {
                    let steers = steer
                        .iter()
                        .map(|s| {
                            let (name, strength) = emotion::parse_steer(s)?;
                            let e = set.index(&name)?;
                            Ok((e, strength.unwrap_or(set.strength_of(e))))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    emotion::export_llama_cpp(&set, &steers, layers.as_deref(), &out)?
                }
            }
            eprintln!("wrote {}", out.display());
        }
        Verb::Bench {
            backend,
            tokens,
            replies: Some(n),
            ..
        } => {
            if backend != BackendKind::Cpu {
                return Err(limbic::Error::Prompt(
                    "--replies runs on the CPU only".into(),
                ));
            }
            bench::replies(&limbic::io::read_model(&cli.model)?.0, n, tokens)?
        }
        Verb::Bench {
            backend,
            tokens,
            hooks: true,
            ..
        } => {
            let set = vectors_for(&cli.model, &cli.vectors)?;
            bench::hooks(load_session(&cli.model, backend)?, &set, tokens)?
        }
        Verb::Bench {
            backend,
            tokens,
            ahead,
            prompt_tokens,
            json,
            ..
        } => {
            let t0 = Instant::now();
            let mut session = load_session(&cli.model, backend)?;
            if let Some(n) = ahead {
                session.set_ahead(n);
            }
            bench::speed(
                session,
                t0.elapsed().as_secs_f64(),
                tokens,
                prompt_tokens,
                json,
            )?
        }
    }
    Ok(())
}

fn generate(model: &Path, vectors: &Path, a: GenerateArgs) -> Result<()> {
    let sampler = Sampler {
        temperature: a.temperature,
        top_p: a.top_p,
        repeat_penalty: a.repeat_penalty,
        seed: a.seed,
        ..Sampler::default()
    };
    sampler.validate()?;
    for spec in &a.steer {
        emotion::parse_steer(spec)?;
    }
    let set = vectors_for_steers(model, vectors, &a.steer)?;
    let mut session = load_session(model, a.backend)?;
    let fallback_at_load = session.fallback.clone();
    emotion::check_layer(a.layer, session.config().n_layer)?;
    let extra = import::terms(&a.control_vector, session.config())?;
    let (hooks, _) = emotion::steer_hooks(set.as_ref(), &a.steer, a.layer, &extra)?;
    if !hooks.hooks.is_empty() {
        session.set_hooks(hooks)?;
    }
    let prompt = session.encode_prompt(&a.chat.wrap(&session.tokenizer, &a.prompt)?)?;
    session.start_now(prompt, &sampler, a.max_tokens)?;
    let mut text = String::new();
    let mut out = std::io::stdout();
    while let Some(step) = session.step_now()? {
        if !a.json {
            print!("{}", step.text);
            out.flush()?;
        }
        text.push_str(&step.text);
    }
    let ids = session
        .generation
        .as_ref()
        .map(|g| g.generated().to_vec())
        .unwrap_or_default();
    if a.json {
        println!(
            "{}",
            json!({ "text": text, "tokens": session.tokenizer.pieces(&ids)?, "ids": ids, "backend": session.backend_name() })
        );
    } else {
        println!();
    }
    // A device lost mid-reply ("…; finishing on the CPU"), said after the text.
    if let Some(why) = session
        .fallback
        .as_ref()
        .filter(|&f| Some(f) != fallback_at_load.as_ref())
    {
        eprintln!("note: {why}");
    }
    Ok(())
}
