//! The Lambda runtime: one `bootstrap` whose handler (`transform`, `compact`, `notify`) is
//! chosen by the function's handler setting, running the shipped compiled pipeline.
//!
//! Not built yet (see the README's status list and the Lambda issue). The compaction core it
//! will call exists in `stk_lake::compact`; the alert evaluators in `stk-eval` and
//! `stk_lake::batch`. It must not depend on the AWS planning code.
