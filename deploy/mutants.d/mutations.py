"""One-line mutations of the guards the README promises.
Each: (name, file, text, replacement, tests that should catch it (a swift test --filter
pattern), which occurrence of text to change (1 = first))."""

OUTBOX = "Sources/HeraldOutbox/OutboxStore.swift"
LEASES = "Sources/HeraldOutbox/OutboxStore+Leases.swift"
SQL = "Sources/HeraldOutbox/Migrations+Generated.swift"
CLAIMS = "Sources/HeraldWorker/ClaimService.swift"
SHUTDOWN = "Sources/HeraldWorker/ClaimService+Shutdown.swift"
WRITER = "Sources/HeraldWorker/OutcomeWriter.swift"
WLEASES = "Sources/HeraldWorker/LeaseService.swift"
CONTEXT = "Sources/HeraldWorker/DaemonContext.swift"
RULES = "Sources/HeraldScheduling/Rules.swift"

MUTATIONS = [
    ("completion-lease-holder", OUTBOX, "WHERE m.id = c.id AND m.locked_by = $1 AND m.status = 'sending' AND m.attempts = c.number",
     "WHERE m.id = c.id AND m.attempts = c.number", "LeaseFencingTests|OutboxSQLTests", 1),
    ("completion-attempt", OUTBOX, "AND m.status = 'sending' AND m.attempts = c.number", "AND m.status = 'sending'",
     "LeaseFencingTests|OutboxSQLTests", 1),
    ("renew-attempt", LEASES, "WHERE m.id = k.id AND m.attempts = k.attempt AND m.locked_by = $2", "WHERE m.id = k.id AND m.locked_by = $2",
     "LeaseFencingTests", 1),
    ("release-attempt", LEASES, "WHERE m.id = k.id AND m.attempts = k.attempt AND m.locked_by = $2", "WHERE m.id = k.id AND m.locked_by = $2",
     "LeaseFencingTests", 2),
    ("defer-attempt", LEASES, "AND status = 'sending' AND attempts = $5::int", "AND status = 'sending' AND $5::int > 0",
     "LeaseFencingTests", 1),
    ("expire-attempt", LEASES, "AND status = 'sending' AND attempts = $4::int", "AND status = 'sending' AND $4::int > 0",
     "LeaseFencingTests", 1),
    ("recovery-takes-own-held", WLEASES, "holding: holding)", "holding: [])", "ServiceTests|OutageTests", 1),
    ("start-after-lapse", "Sources/HeraldWorker/LeaseBook.swift", "return deadline - now >= margin", "return true", "OutageTests", 1),
    ("completion-replay", OUTBOX, "WHERE $18::bool AND EXISTS", "WHERE false AND $18::bool AND EXISTS", "LeaseFencingTests", 1),
    ("replay-waits-for-first-try", OUTBOX, "        if replay {\n", "        if replay && false {\n", "CommittedOutcomeTests", 1),
    ("retry-after-floor", "Sources/HeraldCore/Backoff.swift", "if floor > chosen { chosen = floor }", "if floor > chosen { _ = floor }",
     "BackoffTests|SafeTextTests|WorkerTests", 1),
    ("backoff-growth", "Sources/HeraldCore/RetryPolicy.swift", "backoff.delay(afterAttempt: attempt,", "backoff.delay(afterAttempt: 1,",
     "WorkerTests|RetryPolicyTests", 1),
    ("backoff-cap-always", "Sources/HeraldCore/Backoff.swift", "return .seconds(min(cap.seconds, grown))", "return cap",
     "WorkerTests|BackoffTests", 1),
    ("quiet-hours", RULES, "if let quiet, let end = Self.endOfWindow(quiet, containing: t, in: zone) {",
     "if let quiet, let end = Self.endOfWindow(quiet, containing: t, in: zone), end < 0 {", "SchedulingTests|SchedulingWorkerTests", 1),
    ("cutoff-lead", RULES, "if eventS - t < leadS {", "if eventS - t < 0 {", "SchedulingTests|SchedulingWorkerTests", 1),
    ("search-horizon", RULES, "public static let searchHorizonDays: Int64 = 400", "public static let searchHorizonDays: Int64 = 60",
     "SchedulingHardeningTests", 1),
    ("opt-out-suppression", SQL, "WHERE channel = NEW.channel AND recipient = NEW.recipient AND status = 'pending';",
     "WHERE channel = NEW.channel AND recipient = NEW.recipient AND status = 'pending' AND false;", "OptOutTests|RoleTests", 1),
    ("dedupe-while-sending", SQL, "WHERE dedupe_key = NEW.dedupe_key AND status = 'sending';",
     "WHERE dedupe_key = NEW.dedupe_key AND status = 'sending' AND false;", "LeaseFencingTests", 1),
    ("strict-rendering", "Sources/HeraldRender/Renderer.swift", "if !missing.isEmpty {", "if missing.count > 99 {",
     "RendererTests|WorkerTests", 1),
    ("sms-segment-limit", "Sources/HeraldRender/Renderer.swift", "segments.count > maximum {", "segments.count > maximum + 99 {",
     "TemplateRenderingTests|RendererTests|BuiltinTemplateTests", 1),
    ("render-budget", "Sources/HeraldRender/TemplateValues.swift", "var exhausted: Bool { work > Self.budget }", "var exhausted: Bool { false }",
     "RenderBudgetTests", 1),
    ("render-size-limit", "Sources/HeraldRender/Renderer.swift", "if bytes > partLimit {", "if bytes > partLimit * 1000 {",
     "RenderBudgetTests", 1),
    ("group-commit", WRITER, "Array(q.outcomes.prefix(Self.maxBatch))", "Array(q.outcomes.prefix(1))",
     "WorkerTests", 1),
    ("outcome-isolation", WRITER, "case .failure(let error) where completions.count > 1:", "case .failure(let error) where completions.count > 999_999:",
     "HostileInputTests", 1),
    ("lease-renewal", WLEASES, "try await $0.renew(claims, lease: lease)", "try await $0.renew([], lease: lease)",
     "WorkerTests", 1),
    ("shutdown-release", SHUTDOWN, "let count = await giveBack(claims)", "let count: Int? = 0", "DaemonTests", 1),
    ("shutdown-bounded", CONTEXT, "return ledger.isEmpty || (graceDeadline.map { ContinuousClock.now >= $0 } ?? false)",
     "return ledger.isEmpty", "OutageTests", 1),
    ("worker-id-lock", CLAIMS, "guard try await main.lockWorkerID() else {",
     "guard try await main.lockWorkerID() || true else {", "OutageTests", 1),
    ("outside-text-cleaned", "Sources/HeraldCore/SafeText.swift", "(v < 0x20 && v != 0x09 && v != 0x0A) || v == 0x7F ? \" \" : scalar",
     "scalar", "SafeTextTests|LeaseFencingTests|HostileInputTests", 1),
    ("retry-after-clamp", "Sources/HeraldCore/Backoff.swift", "let floor = retryAfter.clamped(to: Self.maximumRetryAfter)",
     "let floor = retryAfter", "SafeTextTests|HostileInputTests", 1),
    ("infinite-expiry", OUTBOX, "if expiresAt?.timeIntervalSince1970 == .infinity { expiresAt = nil }", "",
     "HostileInputTests", 1),
    ("webhook-private-addresses", "Sources/HeraldDrivers/WebhookDriver.swift",
     "allowInternalAddresses: settings.url != nil || settings.allowPrivateAddresses", "allowInternalAddresses: true", "WebhookTargetTests", 1),
    ("password-redaction", "Sources/HeraldPostgres/ConnectionString.swift", "out = out.replacingOccurrences(of: secret, with: mask)",
     "out = out + \"\"", "RedactionTests|HostileInputTests", 1),
    ("body-limit", "Sources/HeraldCurl/CurlCallbacks.swift", "if n > room {", "if n > room + Int.max / 2 {", "HostileInputTests", 1),
]
