//! Every AWS operation the project calls: the SDK's service and operation name (what the
//! request carries) and the IAM actions AWS authorizes it with (Service Authorization Reference):
//! an operation with tags also needs `sagemaker:AddTags`; one that hands SageMaker a role also
//! needs `iam:PassRole`.

/// One AWS operation and the IAM actions a caller's policy needs for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The SDK's service name (`S3`, `SageMaker`, `CloudWatch`, `SNS`).
    pub service: &'static str,
    /// The API operation (`CreateTrainingJob`).
    pub name: &'static str,
    pub iam_actions: &'static [&'static str],
}

const fn op(
    service: &'static str,
    name: &'static str,
    iam_actions: &'static [&'static str],
) -> Operation {
    Operation {
        service,
        name,
        iam_actions,
    }
}

// S3
pub const S3_LIST_OBJECTS_V2: Operation = op("S3", "ListObjectsV2", &["s3:ListBucket"]);
/// ListBucket too: without it S3 answers a missing key with 403 AccessDenied, not NoSuchKey,
/// and the workers read a missing document as absent.
pub const S3_GET_OBJECT: Operation = op("S3", "GetObject", &["s3:GetObject", "s3:ListBucket"]);
pub const S3_PUT_OBJECT: Operation = op("S3", "PutObject", &["s3:PutObject"]);
pub const S3_CREATE_BUCKET: Operation = op("S3", "CreateBucket", &["s3:CreateBucket"]);

// SageMaker: training jobs
pub const SM_DESCRIBE_TRAINING_JOB: Operation = op(
    "SageMaker",
    "DescribeTrainingJob",
    &["sagemaker:DescribeTrainingJob"],
);
pub const SM_CREATE_TRAINING_JOB: Operation = op(
    "SageMaker",
    "CreateTrainingJob",
    &[
        "sagemaker:CreateTrainingJob",
        "sagemaker:AddTags",
        "iam:PassRole",
    ],
);
pub const SM_LIST_TRAINING_JOBS: Operation = op(
    "SageMaker",
    "ListTrainingJobs",
    &["sagemaker:ListTrainingJobs"],
);

// SageMaker: the model registry
pub const SM_DESCRIBE_MODEL_PACKAGE_GROUP: Operation = op(
    "SageMaker",
    "DescribeModelPackageGroup",
    &["sagemaker:DescribeModelPackageGroup"],
);
pub const SM_CREATE_MODEL_PACKAGE_GROUP: Operation = op(
    "SageMaker",
    "CreateModelPackageGroup",
    &["sagemaker:CreateModelPackageGroup"],
);
pub const SM_LIST_MODEL_PACKAGES: Operation = op(
    "SageMaker",
    "ListModelPackages",
    &["sagemaker:ListModelPackages"],
);
pub const SM_CREATE_MODEL_PACKAGE: Operation = op(
    "SageMaker",
    "CreateModelPackage",
    &["sagemaker:CreateModelPackage"],
);
pub const SM_DESCRIBE_MODEL_PACKAGE: Operation = op(
    "SageMaker",
    "DescribeModelPackage",
    &["sagemaker:DescribeModelPackage"],
);

pub const SM_UPDATE_MODEL_PACKAGE: Operation = op(
    "SageMaker",
    "UpdateModelPackage",
    &["sagemaker:UpdateModelPackage"],
);

// SageMaker: model, endpoint config, endpoint
pub const SM_DESCRIBE_MODEL: Operation =
    op("SageMaker", "DescribeModel", &["sagemaker:DescribeModel"]);
pub const SM_CREATE_MODEL: Operation = op(
    "SageMaker",
    "CreateModel",
    &["sagemaker:CreateModel", "sagemaker:AddTags", "iam:PassRole"],
);
pub const SM_DESCRIBE_ENDPOINT_CONFIG: Operation = op(
    "SageMaker",
    "DescribeEndpointConfig",
    &["sagemaker:DescribeEndpointConfig"],
);
pub const SM_CREATE_ENDPOINT_CONFIG: Operation = op(
    "SageMaker",
    "CreateEndpointConfig",
    &["sagemaker:CreateEndpointConfig"],
);
pub const SM_DESCRIBE_ENDPOINT: Operation = op(
    "SageMaker",
    "DescribeEndpoint",
    &["sagemaker:DescribeEndpoint"],
);
pub const SM_CREATE_ENDPOINT: Operation = op(
    "SageMaker",
    "CreateEndpoint",
    &["sagemaker:CreateEndpoint", "sagemaker:AddTags"],
);
// SageMaker Runtime: a forecast from the serving model
pub const SMR_INVOKE_ENDPOINT: Operation = op(
    "SageMaker Runtime",
    "InvokeEndpoint",
    &["sagemaker:InvokeEndpoint"],
);
pub const SM_UPDATE_ENDPOINT: Operation =
    op("SageMaker", "UpdateEndpoint", &["sagemaker:UpdateEndpoint"]);

// CloudWatch
pub const CW_PUT_METRIC_DATA: Operation =
    op("CloudWatch", "PutMetricData", &["cloudwatch:PutMetricData"]);
pub const CW_DESCRIBE_ALARMS: Operation = op(
    "CloudWatch",
    "DescribeAlarms",
    &["cloudwatch:DescribeAlarms"],
);
pub const CW_PUT_METRIC_ALARM: Operation = op(
    "CloudWatch",
    "PutMetricAlarm",
    &["cloudwatch:PutMetricAlarm"],
);

// SNS
pub const SNS_PUBLISH: Operation = op("SNS", "Publish", &["sns:Publish"]);
pub const SNS_CREATE_TOPIC: Operation = op("SNS", "CreateTopic", &["sns:CreateTopic"]);

// Step Functions
/// Single-flight: the state machine's running executions.
pub const SFN_LIST_EXECUTIONS: Operation = op("SFN", "ListExecutions", &["states:ListExecutions"]);
pub const SFN_DESCRIBE_EXECUTION: Operation =
    op("SFN", "DescribeExecution", &["states:DescribeExecution"]);
/// The run report: the states of the execution that ends, with their times.
pub const SFN_GET_EXECUTION_HISTORY: Operation = op(
    "SFN",
    "GetExecutionHistory",
    &["states:GetExecutionHistory"],
);
