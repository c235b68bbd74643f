//! The services, agents, models and tools the traffic is made of.

/// A model API, with how it names things and how it fails.
pub struct Provider {
    /// `gen_ai.provider.name`.
    pub name: &'static str,
    pub server: &'static str,
    pub finish_tool: &'static str,
    pub finish_stop: &'static str,
    /// Prefix and random length of response ids.
    pub response_id: (&'static str, usize),
    /// Prefix and random length of tool call ids (length 0: the API has none).
    pub tool_call_id: (&'static str, usize),
    /// How often a follow-up call reads the previous prompt from the provider's cache.
    pub cache_hit_rate: f64,
    pub rate_limited: ErrorText,
    pub server_error: ErrorText,
    /// Where its SDK raises, under site-packages (Python) and node_modules (JavaScript).
    pub python_frame: &'static str,
    pub node_frame: &'static str,
}

/// An exception class (Python-qualified) and message; `{model}` is replaced.
pub struct ErrorText {
    pub class: &'static str,
    pub message: &'static str,
}

pub struct Model {
    pub provider: &'static Provider,
    pub request: &'static str,
    pub response: &'static str,
    /// Generation time per output token.
    pub token_micros: u64,
}

pub struct Tool {
    pub name: &'static str,
    /// `gen_ai.tool.type`: function, extension or datastore.
    pub kind: &'static str,
    pub description: &'static str,
    pub millis: (u64, u64),
    /// JSON arguments the model sends.
    pub arguments: &'static [&'static str],
    pub results: &'static [&'static str],
    pub error: ErrorText,
    /// The source line that raises `error` (Python tracebacks show it).
    pub error_line: &'static str,
}

pub struct Agent {
    pub name: &'static str,
    pub id: &'static str,
    pub description: &'static str,
    pub instructions: &'static str,
    /// Repeated entries weigh more.
    pub models: &'static [&'static Model],
    pub tools: &'static [&'static Tool],
    pub sub_agent: Option<&'static Agent>,
    pub temperature: f64,
    pub max_tokens: i64,
    pub questions: &'static [&'static str],
    pub answers: &'static [&'static str],
}

pub struct Service {
    pub name: &'static str,
    pub version: &'static str,
    /// `telemetry.sdk.language`: python or nodejs.
    pub language: &'static str,
    pub sdk_version: &'static str,
    /// Instrumentation scope name and version.
    pub scope: (&'static str, &'static str),
    /// Code package, for stack traces and `code.function.name`.
    pub module: &'static str,
    /// Whether message content is recorded (`gen_ai.input.messages`, tool arguments, ...).
    pub capture_content: bool,
    pub weight: u32,
    pub agents: &'static [&'static Agent],
}

pub static SERVICES: [Service; 3] = [
    Service {
        name: "support-bot",
        version: "2.14.1",
        language: "python",
        sdk_version: "1.38.0",
        scope: ("opentelemetry.util.genai.handler", "0.2b0"),
        module: "support_bot",
        capture_content: true,
        weight: 5,
        agents: &[&SUPPORT_TRIAGE],
    },
    Service {
        name: "research-agent",
        version: "0.9.3",
        language: "python",
        sdk_version: "1.38.0",
        scope: ("pydantic-ai", "1.0.10"),
        module: "research_agent",
        capture_content: true,
        weight: 3,
        agents: &[&RESEARCHER],
    },
    Service {
        name: "code-assistant",
        version: "3.2.0",
        language: "nodejs",
        sdk_version: "2.0.1",
        scope: ("code-assistant", "3.2.0"),
        module: "code_assistant",
        capture_content: false,
        weight: 3,
        agents: &[&CODE_FIXER, &PR_DESCRIBER],
    },
];

static OPENAI: Provider = Provider {
    name: "openai",
    server: "api.openai.com",
    finish_tool: "tool_calls",
    finish_stop: "stop",
    response_id: ("chatcmpl-", 29),
    tool_call_id: ("call_", 24),
    cache_hit_rate: 0.6,
    rate_limited: ErrorText {
        class: "openai.RateLimitError",
        message: "Error code: 429 - {'error': {'message': 'Rate limit reached for {model} in organization org-demo on tokens per min (TPM): Limit 30000, Used 28764, Requested 2311. Please try again in 2.15s.', 'type': 'tokens', 'param': None, 'code': 'rate_limit_exceeded'}}",
    },
    server_error: ErrorText {
        class: "openai.InternalServerError",
        message: "Error code: 500 - {'error': {'message': 'The server had an error while processing your request. Sorry about that!', 'type': 'server_error', 'param': None, 'code': None}}",
    },
    python_frame: "openai/_base_client.py",
    node_frame: "openai/core/error.js",
};

static ANTHROPIC: Provider = Provider {
    name: "anthropic",
    server: "api.anthropic.com",
    finish_tool: "tool_use",
    finish_stop: "end_turn",
    response_id: ("msg_01", 22),
    tool_call_id: ("toolu_01", 22),
    cache_hit_rate: 0.5,
    rate_limited: ErrorText {
        class: "anthropic.RateLimitError",
        message: "Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', 'message': 'This request would exceed the rate limit for your organization of 40,000 input tokens per minute.'}}",
    },
    server_error: ErrorText {
        class: "anthropic.InternalServerError",
        message: "Error code: 500 - {'type': 'error', 'error': {'type': 'api_error', 'message': 'Internal server error'}}",
    },
    python_frame: "anthropic/_base_client.py",
    node_frame: "@anthropic-ai/sdk/core/error.js",
};

static GEMINI: Provider = Provider {
    name: "gcp.gemini",
    server: "generativelanguage.googleapis.com",
    finish_tool: "STOP",
    finish_stop: "STOP",
    response_id: ("", 22),
    tool_call_id: ("", 0),
    cache_hit_rate: 0.3,
    rate_limited: ErrorText {
        class: "google.genai.errors.ClientError",
        message: "429 RESOURCE_EXHAUSTED. {'error': {'code': 429, 'message': 'You exceeded your current quota, please check your plan and billing details.', 'status': 'RESOURCE_EXHAUSTED'}}",
    },
    server_error: ErrorText {
        class: "google.genai.errors.ServerError",
        message: "500 INTERNAL. {'error': {'code': 500, 'message': 'An internal error has occurred. Please retry or report it.', 'status': 'INTERNAL'}}",
    },
    python_frame: "google/genai/_api_client.py",
    node_frame: "@google/genai/dist/node/index.mjs",
};

static GPT_4O: Model = Model {
    provider: &OPENAI,
    request: "gpt-4o",
    response: "gpt-4o-2024-08-06",
    token_micros: 12_000,
};
static GPT_4O_MINI: Model = Model {
    provider: &OPENAI,
    request: "gpt-4o-mini",
    response: "gpt-4o-mini-2024-07-18",
    token_micros: 8_000,
};
static CLAUDE_SONNET_4: Model = Model {
    provider: &ANTHROPIC,
    request: "claude-sonnet-4",
    response: "claude-sonnet-4-20250514",
    token_micros: 14_000,
};
static CLAUDE_HAIKU: Model = Model {
    provider: &ANTHROPIC,
    request: "claude-3-5-haiku",
    response: "claude-3-5-haiku-20241022",
    token_micros: 7_000,
};
static GEMINI_FLASH: Model = Model {
    provider: &GEMINI,
    request: "gemini-2.5-flash",
    response: "gemini-2.5-flash",
    token_micros: 5_000,
};

// Agents and tools. Entry i of `questions` is topic i; the other lists (answers, tool
// arguments and results) follow the topic, so one run reads as one coherent story.

static SUPPORT_TRIAGE: Agent = Agent {
    name: "support-triage",
    id: "asst_8mKq2VZr1XbT4nLp0cWjYd3s",
    description: "Answers customer questions about orders, shipping and returns",
    instructions: "You are the support assistant of an online shop. Be concise and friendly. Look orders up before answering. Never promise a refund yourself: hand refunds to refund-agent.",
    models: &[&GPT_4O_MINI, &GPT_4O_MINI, &GPT_4O],
    tools: &[&LOOKUP_ORDER, &TRACK_SHIPMENT, &SEARCH_KB, &CREATE_TICKET],
    sub_agent: Some(&REFUND_AGENT),
    temperature: 0.2,
    max_tokens: 1024,
    questions: &[
        "My order #48213 was supposed to arrive last Tuesday but tracking has not moved for five days. What is going on?",
        "Can I still return the jacket from order 51907? I wore it once.",
        "I moved last week. Can you change the delivery address of order 47730?",
        "The mug in my order 52114 arrived broken. What can you do?",
    ],
    answers: &[
        "Your parcel is stuck at the DHL sorting center in Leipzig. I opened ticket SUP-20931 with the carrier and refunded the 4.90 EUR shipping fee; you will hear from us within two working days.",
        "Worn items can only be returned within 14 days if they show no signs of wear. I passed your case to the returns team, who will reply by email within 24 hours.",
        "Order 47730 is already out for delivery, so the address can no longer be changed, but you can redirect the parcel with the DHL link I just sent you.",
        "Sorry about that! I refunded 39.95 EUR for the broken mug to your original payment method; it shows up within 5 working days. No need to send it back.",
    ],
};

static REFUND_AGENT: Agent = Agent {
    name: "refund-agent",
    id: "asst_Rf4nD0aG3ntQp7xLm2Vc9TbE",
    description: "Decides on and issues refunds within the refund policy",
    instructions: "You handle refunds. Check the order and the refund policy, refund at most 100 EUR without approval, and say what you did in one sentence.",
    models: &[&GPT_4O],
    tools: &[&LOOKUP_ORDER, &ISSUE_REFUND],
    sub_agent: None,
    temperature: 0.0,
    max_tokens: 512,
    questions: &[
        "Order 48213 has been stuck in transit for five days. Refund the shipping fee of 4.90 EUR.",
        "Customer wants to return a worn jacket from order 51907 (89.00 EUR). Refund if the policy allows it.",
        "Order 47730 needs a parcel redirect. Refund the 4.90 EUR redirect fee as a goodwill gesture.",
        "The mug in order 52114 arrived broken (39.95 EUR). Refund if eligible.",
    ],
    answers: &[
        "Refunded the 4.90 EUR shipping fee of order 48213 (refund re_3PqL2kF9).",
        "Not refunded: worn items are outside the return policy; escalated to the returns team.",
        "Refunded the 4.90 EUR redirect fee of order 47730.",
        "Refunded 39.95 EUR for order 52114 (reason: damaged).",
    ],
};

static RESEARCHER: Agent = Agent {
    name: "researcher",
    id: "agent_01JXR7D3K9Q2M8V5T4N6B1C0ZP",
    description: "Researches a topic on the web and writes a short brief with sources",
    instructions: "You are a research assistant. Search, read the primary sources, and answer with a brief of at most 200 words that cites every claim.",
    models: &[&CLAUDE_SONNET_4, &CLAUDE_SONNET_4, &GPT_4O],
    tools: &[&WEB_SEARCH, &FETCH_URL, &READ_PDF],
    sub_agent: Some(&SUMMARIZER),
    temperature: 0.3,
    max_tokens: 4096,
    questions: &[
        "What do providers of general-purpose AI models have to do under the EU AI Act, and from when?",
        "Where does solid-state battery production stand in 2025?",
        "Summarise the evidence on four-day work weeks and productivity.",
    ],
    answers: &[
        "Since 2 August 2025 providers of general-purpose AI models must keep technical documentation, publish a summary of the training content and respect EU copyright law (Art. 53); models with systemic risk also need evaluations and incident reporting (Art. 55) [1][2].",
        "Pilot lines run at several makers, but volume production is not expected before 2027; sample cells reach 350-400 Wh/kg [1][3].",
        "Trials in the UK and Iceland found stable or slightly higher output with fewer hours and less burnout, though most participants were office workers [1][2].",
    ],
};

static SUMMARIZER: Agent = Agent {
    name: "summarizer",
    id: "agent_01JXR7E8W2H6Y1F9S3A7D5G4KM",
    description: "Condenses long documents into key findings with quotes",
    instructions: "Summarise the document in five bullet points, each with a short quote and its page.",
    models: &[&CLAUDE_HAIKU, &GEMINI_FLASH],
    tools: &[&FETCH_URL, &READ_PDF],
    sub_agent: None,
    temperature: 0.0,
    max_tokens: 1024,
    questions: &[
        "Summarise the General-Purpose AI Code of Practice (transparency and copyright chapters).",
        "Summarise arXiv 2406.12345 on degradation of sulfide solid-state cells.",
        "Summarise the 4 Day Week Global UK pilot report.",
    ],
    answers: &[
        "- Providers fill in a model documentation form (p. 3)\n- They publish a copyright policy and honour robots.txt (p. 11)",
        "- Capacity fade is dominated by lithium plating below 10 C (p. 4)\n- Stack pressure above 5 MPa halves dendrite growth (p. 7)",
        "- 56 of 61 companies continued the four-day week (p. 5)\n- Revenue stayed broadly the same (p. 9)",
    ],
};

static CODE_FIXER: Agent = Agent {
    name: "code-fixer",
    id: "code-fixer-v3",
    description: "Finds and fixes the cause of failing tests",
    instructions: "You work on a git repository. Reproduce the failure, read the relevant code, propose the smallest patch that fixes it, and run the tests again.",
    models: &[&CLAUDE_SONNET_4, &CLAUDE_SONNET_4, &GPT_4O],
    tools: &[&READ_FILE, &GREP_REPO, &RUN_TESTS, &APPLY_PATCH],
    sub_agent: Some(&PATCH_REVIEWER),
    temperature: 0.0,
    max_tokens: 8192,
    questions: &[
        "CI job unit-tests fails: 'parser > roundtrip > keeps comments'. Fix it.",
        "The date formatter test fails since we upgraded to Node 22. Find out why and fix it.",
    ],
    answers: &[
        "The printer dropped trailing comments when a statement ended the block. I patched src/parser/print.ts to flush pending comments before closing the block; all 42 parser tests pass.",
        "Node 22 ships ICU 74, which abbreviates September as 'Sept'. I pinned the test to an explicit month format; the date suite is green again.",
    ],
};

static PATCH_REVIEWER: Agent = Agent {
    name: "patch-reviewer",
    id: "patch-reviewer-v1",
    description: "Reviews a proposed patch for correctness and style",
    instructions: "Review the patch. Reply APPROVE or REQUEST_CHANGES with at most three concrete remarks.",
    models: &[&GPT_4O_MINI, &GEMINI_FLASH],
    tools: &[&READ_FILE, &GREP_REPO],
    sub_agent: None,
    temperature: 0.0,
    max_tokens: 1024,
    questions: &[
        "Review the patch to src/parser/print.ts that flushes pending comments before closing a block.",
        "Review the change to tests/date.test.ts that pins the month format.",
    ],
    answers: &[
        "APPROVE. The flush also covers nested blocks; consider a test for an empty block.",
        "REQUEST_CHANGES: also pin the locale, otherwise the test still depends on the machine.",
    ],
};

static PR_DESCRIBER: Agent = Agent {
    name: "pr-describer",
    id: "pr-describer-v2",
    description: "Writes pull-request titles and descriptions from the diff",
    instructions: "Write a pull-request title (at most 60 characters) and a description with a summary, the motivation and how it was tested.",
    models: &[&GEMINI_FLASH, &GPT_4O_MINI],
    tools: &[&GIT_DIFF, &READ_FILE],
    sub_agent: None,
    temperature: 0.4,
    max_tokens: 2048,
    questions: &[
        "Describe the pull request for branch fix/parser-comments.",
        "Describe the pull request for branch fix/date-format-node22.",
    ],
    answers: &[
        "Title: Keep trailing comments when printing blocks\n\nThe printer dropped comments at the end of a block. Pending comments are now flushed before the closing brace. Tested with the parser round-trip suite.",
        "Title: Pin the month format in date tests\n\nNode 22 (ICU 74) abbreviates September as 'Sept', which broke the snapshot. The test now formats with an explicit pattern and locale. Tested on Node 20 and 22.",
    ],
};

static LOOKUP_ORDER: Tool = Tool {
    name: "lookup_order",
    kind: "function",
    description: "Look up an order by its number: items, status, shipping address.",
    millis: (20, 150),
    arguments: &[
        r#"{"order_id": "48213"}"#,
        r#"{"order_id": "51907"}"#,
        r#"{"order_id": "47730"}"#,
        r#"{"order_id": "52114"}"#,
    ],
    results: &[
        r#"{"order_id": "48213", "status": "shipped", "carrier": "DHL", "tracking": "JD014600006281234567", "items": 2, "total_eur": 84.9}"#,
        r#"{"order_id": "51907", "status": "delivered", "items": [{"sku": "JKT-220-M", "name": "Rain jacket", "price_eur": 89.0}], "delivered_at": "2025-05-12"}"#,
        r#"{"order_id": "47730", "status": "out_for_delivery", "carrier": "DHL", "tracking": "JD014600006281299810"}"#,
        r#"{"order_id": "52114", "status": "delivered", "items": [{"sku": "MUG-12", "name": "Stoneware mug", "price_eur": 39.95}]}"#,
    ],
    error: ErrorText {
        class: "httpx.HTTPStatusError",
        message: "Server error '503 Service Unavailable' for url 'http://orders.internal:8080/v1/orders/48213'",
    },
    error_line: "response.raise_for_status()",
};

static TRACK_SHIPMENT: Tool = Tool {
    name: "track_shipment",
    kind: "function",
    description: "Get the latest tracking events of a parcel.",
    millis: (80, 450),
    arguments: &[
        r#"{"carrier": "DHL", "tracking_number": "JD014600006281234567"}"#,
        r#"{"carrier": "DHL", "tracking_number": "JD014600006281177102"}"#,
        r#"{"carrier": "DHL", "tracking_number": "JD014600006281299810"}"#,
        r#"{"carrier": "DPD", "tracking_number": "01505080612345"}"#,
    ],
    results: &[
        r#"{"status": "in_transit", "last_event": "Arrived at sorting center Leipzig", "last_update": "2025-06-02T14:11:00Z"}"#,
        r#"{"status": "delivered", "last_event": "Delivered to recipient", "last_update": "2025-05-12T10:03:00Z"}"#,
        r#"{"status": "out_for_delivery", "last_event": "Loaded onto delivery vehicle", "last_update": "2025-06-03T07:45:00Z"}"#,
        r#"{"status": "delivered", "last_event": "Delivered to parcel shop", "last_update": "2025-06-01T16:20:00Z"}"#,
    ],
    error: ErrorText {
        class: "httpx.ReadTimeout",
        message: "The read operation timed out",
    },
    error_line: "resp = await self.client.get(url, timeout=0.4)",
};

static SEARCH_KB: Tool = Tool {
    name: "search_kb",
    kind: "datastore",
    description: "Search the help-center articles.",
    millis: (30, 250),
    arguments: &[
        r#"{"query": "parcel delayed tracking not updated", "limit": 5}"#,
        r#"{"query": "return window for worn items", "limit": 5}"#,
        r#"{"query": "change delivery address after shipping", "limit": 5}"#,
        r#"{"query": "item damaged on arrival", "limit": 5}"#,
    ],
    results: &[
        r#"[{"title": "My parcel is late", "url": "https://help.example.com/late", "score": 0.91}]"#,
        r#"[{"title": "Returns and refunds", "url": "https://help.example.com/returns", "score": 0.89}]"#,
        r#"[{"title": "Changing your address", "url": "https://help.example.com/address", "score": 0.93}]"#,
        r#"[{"title": "Damaged items", "url": "https://help.example.com/damaged", "score": 0.95}]"#,
    ],
    error: ErrorText {
        class: "qdrant_client.http.exceptions.UnexpectedResponse",
        message: "Unexpected Response: 503 (Service Unavailable)",
    },
    error_line: "hits = await self.qdrant.search(collection_name=\"help-center\", query_vector=vector, limit=limit)",
};

static CREATE_TICKET: Tool = Tool {
    name: "create_ticket",
    kind: "function",
    description: "Open a support ticket for the human support team.",
    millis: (60, 300),
    arguments: &[
        r#"{"subject": "Parcel stuck in transit", "priority": "normal", "order_id": "48213"}"#,
        r#"{"subject": "Return of a worn item", "priority": "low", "order_id": "51907"}"#,
        r#"{"subject": "Address change after shipping", "priority": "normal", "order_id": "47730"}"#,
        r#"{"subject": "Item damaged on arrival", "priority": "normal", "order_id": "52114"}"#,
    ],
    results: &[
        r#"{"ticket_id": "SUP-20931", "queue": "shipping"}"#,
        r#"{"ticket_id": "SUP-20944", "queue": "returns"}"#,
        r#"{"ticket_id": "SUP-20957", "queue": "shipping"}"#,
        r#"{"ticket_id": "SUP-20962", "queue": "returns"}"#,
    ],
    error: ErrorText {
        class: "zenpy.lib.exception.APIException",
        message: "{\"error\": \"RecordInvalid\", \"description\": \"Record validation errors\"}",
    },
    error_line: "ticket = self.zendesk.tickets.create(Ticket(subject=subject, priority=priority))",
};

static ISSUE_REFUND: Tool = Tool {
    name: "issue_refund",
    kind: "function",
    description: "Refund an order, or part of it, to the original payment method.",
    millis: (150, 700),
    arguments: &[
        r#"{"order_id": "48213", "amount_eur": 4.9, "reason": "late_delivery"}"#,
        r#"{"order_id": "51907", "amount_eur": 89.0, "reason": "returned"}"#,
        r#"{"order_id": "47730", "amount_eur": 4.9, "reason": "goodwill"}"#,
        r#"{"order_id": "52114", "amount_eur": 39.95, "reason": "damaged"}"#,
    ],
    results: &[
        r#"{"refund_id": "re_3PqL2kF9", "status": "pending"}"#,
        r#"{"refund_id": null, "status": "rejected", "reason": "worn items are not returnable"}"#,
        r#"{"refund_id": "re_3PqM8sX1", "status": "pending"}"#,
        r#"{"refund_id": "re_3PqN4tB7", "status": "pending"}"#,
    ],
    error: ErrorText {
        class: "PermissionError",
        message: "refund of 240.00 EUR exceeds the agent limit of 100.00 EUR",
    },
    error_line: "raise PermissionError(f\"refund of {amount:.2f} EUR exceeds the agent limit of {limit:.2f} EUR\")",
};

static WEB_SEARCH: Tool = Tool {
    name: "web_search",
    kind: "extension",
    description: "Search the web and return the top results.",
    millis: (300, 800),
    arguments: &[
        r#"{"query": "EU AI Act obligations general-purpose AI models", "max_results": 5}"#,
        r#"{"query": "solid-state battery mass production 2025", "max_results": 5}"#,
        r#"{"query": "four-day week trial productivity results", "max_results": 5}"#,
    ],
    results: &[
        r#"[{"title": "Article 53: Obligations for Providers of General-Purpose AI Models", "url": "https://artificialintelligenceact.eu/article/53/"}, {"title": "General-Purpose AI Code of Practice", "url": "https://digital-strategy.ec.europa.eu/en/policies/contents-code-gpai"}]"#,
        r#"[{"title": "Solid-state batteries: where production stands", "url": "https://www.example.org/solid-state-2025"}, {"title": "Degradation of sulfide solid-state cells", "url": "https://arxiv.org/abs/2406.12345"}]"#,
        r#"[{"title": "The results are in: the UK's four-day week pilot", "url": "https://www.4dayweek.com/uk-pilot-results"}, {"title": "Going public: Iceland's journey to a shorter working week", "url": "https://autonomy.work/portfolio/icelandsww/"}]"#,
    ],
    error: ErrorText {
        class: "httpx.ReadTimeout",
        message: "The read operation timed out",
    },
    error_line: "r = await self.http.get(SEARCH_URL, params=params, timeout=0.8)",
};

static FETCH_URL: Tool = Tool {
    name: "fetch_url",
    kind: "function",
    description: "Fetch a web page and return its main text.",
    millis: (150, 700),
    arguments: &[
        r#"{"url": "https://artificialintelligenceact.eu/article/53/"}"#,
        r#"{"url": "https://www.example.org/solid-state-2025"}"#,
        r#"{"url": "https://www.4dayweek.com/uk-pilot-results"}"#,
    ],
    results: &[
        "Article 53. Providers of general-purpose AI models shall: (a) draw up and keep up-to-date the technical documentation of the model...",
        "Solid-state batteries replace the liquid electrolyte with a solid one. Several manufacturers run pilot lines, but none expects volume production before 2027...",
        "61 companies and around 2,900 workers took part in the six-month trial. 56 companies are continuing with the four-day week...",
    ],
    error: ErrorText {
        class: "httpx.HTTPStatusError",
        message: "Client error '403 Forbidden' for url 'https://www.example.org/solid-state-2025'",
    },
    error_line: "response.raise_for_status()",
};

static READ_PDF: Tool = Tool {
    name: "read_pdf",
    kind: "function",
    description: "Extract the text of a PDF document.",
    millis: (100, 600),
    arguments: &[
        r#"{"url": "https://digital-strategy.ec.europa.eu/gpai-code-of-practice.pdf", "max_pages": 20}"#,
        r#"{"url": "https://arxiv.org/pdf/2406.12345", "max_pages": 20}"#,
        r#"{"url": "https://www.4dayweek.com/uk-pilot-report.pdf", "max_pages": 20}"#,
    ],
    results: &[
        r#"{"pages": 40, "text": "Transparency chapter. Signatories commit to drawing up and keeping up-to-date model documentation..."}"#,
        r#"{"pages": 14, "text": "Abstract. We study capacity fade in sulfide solid-state cells under stack pressure..."}"#,
        r#"{"pages": 68, "text": "Executive summary. The trial ran from June to December 2022 with 61 organisations..."}"#,
    ],
    error: ErrorText {
        class: "pypdf.errors.PdfReadError",
        message: "EOF marker not found",
    },
    error_line: "reader = PdfReader(io.BytesIO(data))",
};

static READ_FILE: Tool = Tool {
    name: "read_file",
    kind: "function",
    description: "Read a file of the repository.",
    millis: (5, 40),
    arguments: &[
        r#"{"path": "src/parser/print.ts"}"#,
        r#"{"path": "tests/date.test.ts"}"#,
    ],
    results: &[
        "export function printBlock(block: Block, out: Writer) {\n  out.open('{');\n  for (const stmt of block.body) printStatement(stmt, out);\n  out.close('}');\n}",
        "it('formats the month', () => {\n  expect(formatDate(new Date('2025-09-03'))).toBe('3 Sep 2025');\n});",
    ],
    error: ErrorText {
        class: "Error",
        message: "ENOENT: no such file or directory, open '/workspace/src/parser/printer.ts'",
    },
    error_line: "",
};

static GREP_REPO: Tool = Tool {
    name: "grep_repo",
    kind: "function",
    description: "Search the repository with a regular expression.",
    millis: (10, 120),
    arguments: &[
        r#"{"pattern": "pendingComments", "glob": "src/**/*.ts"}"#,
        r#"{"pattern": "toLocaleDateString|Intl.DateTimeFormat", "glob": "src/**/*.ts"}"#,
    ],
    results: &[
        "src/parser/print.ts:41:  const pendingComments: Comment[] = [];\nsrc/parser/print.ts:88:  flush(pendingComments, out);",
        "src/format/date.ts:12:  return new Intl.DateTimeFormat(undefined, { month: 'short' }).format(date);",
    ],
    error: ErrorText {
        class: "Error",
        message: "Command failed: rg --json -e 'pendingComments(' src: regex parse error: unclosed group",
    },
    error_line: "",
};

static RUN_TESTS: Tool = Tool {
    name: "run_tests",
    kind: "function",
    description: "Run the test suite, or the tests matching a filter.",
    millis: (300, 800),
    arguments: &[r#"{"filter": "parser"}"#, r#"{"filter": "date"}"#],
    results: &[
        r#"{"passed": 41, "failed": 1, "failures": ["parser > roundtrip > keeps comments"]}"#,
        r#"{"passed": 11, "failed": 1, "failures": ["date > formats the month: expected '3 Sep 2025', got '3 Sept 2025'"]}"#,
    ],
    error: ErrorText {
        class: "Error",
        message: "Command failed with exit code 137: npm test -- parser (killed: out of memory)",
    },
    error_line: "",
};

static APPLY_PATCH: Tool = Tool {
    name: "apply_patch",
    kind: "function",
    description: "Apply a unified diff to the working tree.",
    millis: (10, 80),
    arguments: &[
        r#"{"diff": "--- a/src/parser/print.ts\n+++ b/src/parser/print.ts\n@@ -86,3 +86,4 @@\n   for (const stmt of block.body) printStatement(stmt, out);\n+  flush(pendingComments, out);\n   out.close('}');\n"}"#,
        r#"{"diff": "--- a/tests/date.test.ts\n+++ b/tests/date.test.ts\n@@ -2,1 +2,1 @@\n-  expect(formatDate(new Date('2025-09-03'))).toBe('3 Sep 2025');\n+  expect(formatDate(new Date('2025-09-03'), 'd MMM yyyy')).toBe('3 Sep 2025');\n"}"#,
    ],
    results: &[
        r#"{"applied": true, "files": ["src/parser/print.ts"]}"#,
        r#"{"applied": true, "files": ["tests/date.test.ts"]}"#,
    ],
    error: ErrorText {
        class: "Error",
        message: "patch does not apply: src/parser/print.ts:86",
    },
    error_line: "",
};

static GIT_DIFF: Tool = Tool {
    name: "git_diff",
    kind: "function",
    description: "Show the diff of a branch against its base.",
    millis: (20, 200),
    arguments: &[
        r#"{"base": "main", "branch": "fix/parser-comments"}"#,
        r#"{"base": "main", "branch": "fix/date-format-node22"}"#,
    ],
    results: &[
        " src/parser/print.ts            |  3 ++-\n tests/parser/roundtrip.test.ts | 12 ++++++++++++\n 2 files changed, 14 insertions(+), 1 deletion(-)",
        " tests/date.test.ts | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)",
    ],
    error: ErrorText {
        class: "Error",
        message: "fatal: ambiguous argument 'main...HEAD': unknown revision or path not in the working tree.",
    },
    error_line: "",
};
