//! The shared `main` of every bootstrap binary: JSON logs, the Lambda
//! environment checked before anything else, the function built once (a
//! failure is reported to Lambda's init error endpoint and the process exits
//! non-zero before polling for events), then the runtime loop, where each
//! event goes through [`invoke`].

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::env::Env;
use crate::err::{HandlerError, InitError};

/// Exit code when the Lambda environment itself is missing (not run by Lambda).
const EXIT_NO_RUNTIME: u8 = 2;

/// One function: built once at start, then called per event.
pub trait Handler: Send + Sync + 'static {
    /// The event it takes; an event of another shape is answered with an
    /// `InvalidEvent` error naming the offending field.
    type Event: DeserializeOwned + Send;
    /// Its answer.
    type Response: Serialize + Send;

    /// Serves one event. Events come one at a time, so the future need not
    /// be `Send`.
    fn handle(
        &self,
        event: Self::Event,
        invocation: &Invocation,
    ) -> impl Future<Output = Result<Self::Response, HandlerError>>;
}

/// What the runtime says about one invocation, and the time it started.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Lambda's request id.
    pub request_id: String,
    /// When the invocation started (the handler's `now`).
    pub now: OffsetDateTime,
}

/// Parses `payload` into the handler's event and serves it.
pub async fn invoke<H: Handler>(
    handler: &H,
    payload: serde_json::Value,
    invocation: &Invocation,
) -> Result<H::Response, HandlerError> {
    let event: H::Event = serde_path_to_error::deserialize(payload).map_err(|e| {
        let path = e.path().to_string();
        HandlerError::invalid_event(format!(
            "the event does not have the shape this function takes: at `{path}`: {}; send the documented event",
            e.inner()
        ))
    })?;
    handler.handle(event, invocation).await
}

/// The checks of the Lambda environment `lambda_runtime` needs (it panics
/// without it).
struct LambdaEnv;

impl LambdaEnv {
    /// The Runtime API address, which is needed even to report an error.
    fn runtime_api(env: &Env) -> Result<http::Uri, InitError> {
        let name = "AWS_LAMBDA_RUNTIME_API";
        let value = env.required(
            name,
            "the Lambda Runtime API address (host:port); Lambda sets it",
        )?;
        let uri: http::Uri = format!("http://{value}")
            .parse()
            .map_err(|e| InitError::Invalid {
                name: name.into(),
                reason: format!("`{value}` is not host:port ({e})"),
            })?;
        if uri.authority().is_none() {
            return Err(InitError::Invalid {
                name: name.into(),
                reason: format!("`{value}` is not host:port"),
            });
        }
        Ok(uri)
    }

    /// The other variables Lambda always sets.
    fn check_rest(env: &Env) -> Result<(), InitError> {
        env.required(
            "AWS_LAMBDA_FUNCTION_NAME",
            "the function name; Lambda sets it",
        )?;
        env.required(
            "AWS_LAMBDA_FUNCTION_VERSION",
            "the function version; Lambda sets it",
        )?;
        let name = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
        let memory = env.required(name, "the memory size in MB; Lambda sets it")?;
        memory.parse::<i32>().map_err(|_| InitError::Invalid {
            name: name.into(),
            reason: format!("`{memory}` is not a whole number of megabytes"),
        })?;
        Ok(())
    }
}

/// Logs as JSON lines on stdout. `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL`)
/// picks the level, `info` by default; the runtime's own crates stay at
/// `info` at most because at `trace` they log whole events, tokens included.
fn init_logging(env: &Env) {
    let wanted = env
        .optional("RUST_LOG")
        .or_else(|| env.optional("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or("info")
        .to_ascii_lowercase();
    let mut filter = tracing_subscriber::EnvFilter::try_new(&wanted)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for directive in ["lambda_runtime=info", "lambda_runtime_api_client=info"] {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_ansi(false)
        .with_current_span(false)
        .with_target(true)
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .finish();
    // Only `main` sets it, once; a second call would keep the first.
    drop(tracing::subscriber::set_global_default(subscriber));
}

/// Posts `error` to the Runtime API's init error endpoint, so that Lambda
/// shows it as the reason the function did not start.
async fn report_init_error(runtime_api: http::Uri, error: &InitError) {
    let body = serde_json::json!({
        "errorType": error.error_type(),
        "errorMessage": error.to_string(),
    });
    let client = lambda_runtime_api_client::Client::builder()
        .with_endpoint(runtime_api)
        .build();
    let request = serde_json::to_vec(&body)
        .map_err(|e| e.to_string())
        .and_then(|body| {
            lambda_runtime_api_client::build_request()
                .method(http::Method::POST)
                .uri("/2018-06-01/runtime/init/error")
                .header("lambda-runtime-function-error-type", error.error_type())
                .header("content-type", "application/json")
                .body(lambda_runtime_api_client::body::Body::from(body))
                .map_err(|e| e.to_string())
        });
    let result = match (client, request) {
        (Ok(client), Ok(request)) => client
            .call(request)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        (Err(e), _) => Err(e.to_string()),
        (_, Err(e)) => Err(e),
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "could not report the init error to the Runtime API");
    }
}

/// Runs one function: `vars` are the process's environment variables and
/// `init` builds the handler from them. Exits 1 when `init` fails (after
/// reporting it to Lambda), 2 outside Lambda (no Runtime API), 0 when the
/// Runtime API closes.
pub fn main<H, I, F>(vars: impl IntoIterator<Item = (String, String)>, init: I) -> ExitCode
where
    H: Handler,
    I: FnOnce(Env) -> F,
    F: Future<Output = Result<H, InitError>>,
{
    let env = Env::new(vars);
    init_logging(&env);
    let runtime_api = match LambdaEnv::runtime_api(&env) {
        Ok(uri) => uri,
        Err(e) => {
            tracing::error!(error = %e, "not started by Lambda");
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_NO_RUNTIME);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let built = match LambdaEnv::check_rest(&env) {
            Ok(()) => init(env).await,
            Err(e) => Err(e),
        };
        let handler = match built {
            Ok(handler) => Arc::new(handler),
            Err(e) => {
                tracing::error!(error = %e, error_type = e.error_type(), "init failed");
                report_init_error(runtime_api, &e).await;
                return ExitCode::FAILURE;
            }
        };
        let service = service_fn(move |event: LambdaEvent<serde_json::Value>| {
            let handler = Arc::clone(&handler);
            async move {
                let invocation = Invocation {
                    request_id: event.context.request_id,
                    now: OffsetDateTime::now_utc(),
                };
                let answer = invoke(handler.as_ref(), event.payload, &invocation).await;
                if let Err(e) = &answer {
                    tracing::warn!(
                        request_id = %invocation.request_id,
                        error_type = %e.error_type,
                        message = %e.message,
                        "event failed"
                    );
                }
                answer
            }
        });
        match lambda_runtime::run(service).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "the runtime loop stopped");
                ExitCode::FAILURE
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ping {
        n: u32,
    }

    impl Handler for Echo {
        type Event = Ping;
        type Response = u32;

        async fn handle(&self, event: Ping, _: &Invocation) -> Result<u32, HandlerError> {
            Ok(event.n + 1)
        }
    }

    fn invocation() -> Invocation {
        Invocation {
            request_id: "r".into(),
            now: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn events_of_the_wrong_shape_name_the_field() {
        let ok = invoke(&Echo, serde_json::json!({"n": 1}), &invocation()).await;
        assert_eq!(ok, Ok(2));
        let err = invoke(&Echo, serde_json::json!({"n": "x"}), &invocation())
            .await
            .unwrap_err();
        assert_eq!(err.error_type, "InvalidEvent");
        assert!(err.message.contains("at `n`"), "{}", err.message);
    }

    #[test]
    fn lambda_environment_is_checked_with_names() {
        let env = Env::new([(
            "AWS_LAMBDA_RUNTIME_API".to_owned(),
            "127.0.0.1:9001".to_owned(),
        )]);
        assert_eq!(
            LambdaEnv::runtime_api(&env).unwrap().to_string(),
            "http://127.0.0.1:9001/"
        );
        let err = LambdaEnv::check_rest(&env).unwrap_err().to_string();
        assert!(err.contains("AWS_LAMBDA_FUNCTION_NAME"), "{err}");
        let bad = Env::new([("AWS_LAMBDA_RUNTIME_API".to_owned(), "a b".to_owned())]);
        assert!(LambdaEnv::runtime_api(&bad).is_err());
        let err = LambdaEnv::runtime_api(&Env::default()).unwrap_err();
        assert_eq!(err.error_type(), "Runtime.InvalidConfiguration");
    }
}
