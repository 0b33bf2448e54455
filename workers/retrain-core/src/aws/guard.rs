//! The interceptor on every client of a [`Context`](super::Context): an operation the worker
//! does not declare fails before it is sent, naming the worker and the operation. Whatever path
//! a test drives, a call the function's IAM policy was not derived from cannot pass unnoticed.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::worker::Worker;
use crate::error::UndeclaredOperation;

#[derive(Clone, Copy, Debug)]
pub(super) struct Guard(pub &'static Worker);

impl Intercept for Guard {
    fn name(&self) -> &'static str {
        "OperationGuard"
    }

    // Not `read_before_execution`: a client's interceptors run that hook before the operation's
    // configuration (which carries its name) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        if self.0.declares(meta.service(), meta.name()) {
            return Ok(());
        }
        let err = UndeclaredOperation {
            worker: self.0.name.to_string(),
            service: meta.service().to_string(),
            operation: meta.name().to_string(),
        };
        tracing::error!(error = %err, "undeclared AWS operation refused");
        Err(Box::new(err))
    }
}
