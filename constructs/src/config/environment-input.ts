/**
 * An environment as its file writes it (`satisfies EnvironmentInput`): every field documented, defaults
 * stated. The zod schema in `environment-config.ts` validates it; the compiler holds the two types equal.
 */

import type { ReleaseRecord } from './release';

/** A Kubernetes taint of a node group. */
export interface NodeTaintInput {
  /** e.g. `ai-eval-platform/workers`. */
  readonly key: string;
  /** @default 'true' */
  readonly value?: string;
  /** What the taint does to pods that do not tolerate it. */
  readonly effect: 'NO_SCHEDULE' | 'NO_EXECUTE' | 'PREFER_NO_SCHEDULE';
}

/** An EKS managed node group. */
export interface NodeGroupInput {
  /** Instance types, first preferred; a SPOT group should list several so capacity can be found (production: at least 2). */
  readonly instanceTypes: string[];
  /** @default 'ON_DEMAND' */
  readonly capacityType?: 'ON_DEMAND' | 'SPOT';
  /** Fewest nodes. */
  readonly minSize: number;
  /** Most nodes. */
  readonly maxSize: number;
  /** Nodes at creation; the cluster autoscaler moves it between minSize and maxSize. */
  readonly desiredSize: number;
  /** Root volume of each node, in GiB. @default 50 */
  readonly diskSizeGiB?: number;
  /** Node labels; the workers select the SPOT group by its first label. @default {} */
  readonly labels?: Record<string, string>;
  /** Node taints; the workers tolerate the SPOT group's first taint. @default [] */
  readonly taints?: NodeTaintInput[];
}

/** CPU and memory of a container. Requests must not exceed limits. */
export interface ResourcesInput {
  /** CPU request, in millicores. */
  readonly cpuRequestMilli: number;
  /** CPU limit, in millicores. */
  readonly cpuLimitMilli: number;
  /** Memory request, in MiB. */
  readonly memoryRequestMiB: number;
  /** Memory limit, in MiB. */
  readonly memoryLimitMiB: number;
}

/** Backoff and retry of every LLM call a worker makes. */
export interface LlmRetryInput {
  /** Attempts per LLM call, the first included (1 to 10). @default 5 */
  readonly maxAttempts?: number;
  /** Base of the exponential backoff, in milliseconds; at most maxDelayMs. @default 500 */
  readonly baseDelayMs?: number;
  /** Ceiling of the exponential backoff, in milliseconds. @default 30000 */
  readonly maxDelayMs?: number;
  /** A server's `retry-after` is honoured up to this cap, in milliseconds. @default 60000 */
  readonly retryAfterCapMs?: number;
  /** Per attempt, in milliseconds. @default 60000 */
  readonly timeoutMs?: number;
  /** Rate-limit answers (429, 529) are retried for this long, whatever maxAttempts says, in milliseconds. @default 300000 */
  readonly rateLimitBudgetMs?: number;
}

/** ClickHouse on EC2. */
export interface ClickhouseInput {
  /** 1 in dev; 3 replicas (each also a ClickHouse Keeper node) in prod. */
  readonly replicas: 1 | 3;
  /** e.g. `m6i.xlarge`. */
  readonly instanceType: string;
  /** gp3 data volume of each node, in GiB (at least 20). */
  readonly dataVolumeGiB: number;
  /** @default 3000 */
  readonly dataVolumeIops?: number;
  /** @default 125 */
  readonly dataVolumeThroughputMiBps?: number;
  /** ClickHouse server version installed from the official packages. @default '25.8' */
  readonly version?: string;
}

export interface EnvironmentInput {
  /** Environment name: `dev`, `prod`, or any a team adds (kebab-case). */
  readonly name: string;
  /** Twelve-digit AWS account id; role ARNs on the Kubernetes side are derived from it. */
  readonly accountId: string;
  /** AWS region, such as `eu-west-1`. */
  readonly region: string;
  /** EKS cluster name. @default `ai-eval-platform-<name>` */
  readonly clusterName?: string;
  /** EKS minor version; the brief's 1.29 is past standard support. @default '1.33' */
  readonly kubernetesVersion?: string;
  /** True for a production environment: stricter rules apply (Multi-AZ, deletion protection, backups, 3 ClickHouse replicas, 2+ Redis nodes). @default false */
  readonly production?: boolean;
  /** Tags on every AWS resource, beside the platform's own. @default {} */
  readonly tags?: Record<string, string>;
  /**
   * This environment is the repository's example: its placeholders (the account ids 111111111111 and
   * 222222222222, example.com hosts and addresses, the example-org repositories) are accepted. Without it,
   * `resolveEnvironment` refuses every field still holding one, naming the field. @default false
   */
  readonly example?: boolean;
  /** The GitHub repository whose workflows release, promote and deploy: the account bootstrap's roles trust its OIDC tokens. */
  readonly github: {
    /** `owner/name`. */
    readonly repository: string;
    /** The branch releases are built from and promotions are merged to. @default 'main' */
    readonly branch?: string;
    /**
     * The GitHub environment of this environment's job in `deploy.yml`; the deploy role trusts tokens of that
     * environment only. @default 'production' in production, else the environment's name
     */
    readonly deployEnvironment?: string;
  };
  /** Where Terraform keeps its state (S3, KMS-encrypted, with a lock file): the account bootstrap's bucket. */
  readonly state?: {
    /** @default the bootstrap's `ai-eval-platform-terraform-state-<accountId>` */
    readonly bucket?: string;
    /** @default `<name>/terraform.tfstate` */
    readonly key?: string;
    /** @default the environment's region */
    readonly region?: string;
  };
  /** The VPC. @default { vpcCidr: '10.0.0.0/16', azCount: 3, singleNatGateway: true } */
  readonly network?: {
    /** An IPv4 /16. @default '10.0.0.0/16' */
    readonly vpcCidr?: string;
    /** Availability zones, 2 or 3. @default 3 */
    readonly azCount?: number;
    /** One NAT gateway for the whole VPC (cheap) instead of one per AZ (resilient). @default true */
    readonly singleNatGateway?: boolean;
  };
  /** The EKS control plane and who may administer it. */
  readonly cluster?: {
    /** Whether the API server is reachable from the internet (restricted to publicAccessCidrs). @default true */
    readonly publicEndpoint?: boolean;
    /**
     * CIDRs allowed to reach a public API server. @default ['0.0.0.0/0'] outside production; none in production,
     * where a public endpoint must list them.
     */
    readonly publicAccessCidrs?: string[];
    /**
     * IAM role ARNs granted cluster-admin through EKS access entries (the cluster creator gets no implicit
     * access); never empty. An IAM Identity Center role is given without its `aws-reserved/sso.amazonaws.com/…`
     * path, as EKS expects. @default the account bootstrap's admin role, `ai-eval-platform-admin`
     */
    readonly adminRoleArns?: string[];
    /**
     * IAM role of CI's deploy job (`AWS_DEPLOY_ROLE_ARN`), given an access entry scoped to the Argo CD
     * namespace: enough to apply the root Application and read sync status, nothing else. Terraform
     * itself needs no Kubernetes access; Argo CD pulls the manifests from inside the cluster.
     * @default the account bootstrap's deploy role, `ai-eval-platform-github-deploy`
     */
    readonly deployRoleArn?: string;
    /** Retention of the control plane's CloudWatch logs, in days. @default 30 */
    readonly logRetentionDays?: number;
  };
  /** Managed node groups by snake_case name; the workers need one SPOT group with a taint and a label. */
  readonly nodeGroups: Record<string, NodeGroupInput>;
  /** RDS PostgreSQL: runs, cases, projects and keys. */
  readonly database: {
    /** e.g. `db.t4g.medium`. */
    readonly instanceClass: string;
    /** @default '16' */
    readonly engineVersion?: string;
    /** Initial storage, in GiB (at least 20). */
    readonly allocatedStorageGiB: number;
    /** Ceiling of storage autoscaling, in GiB; at least allocatedStorageGiB. */
    readonly maxAllocatedStorageGiB: number;
    /** A standby in a second AZ (required in production). */
    readonly multiAz: boolean;
    /** Refuse to delete the instance (required in production). */
    readonly deletionProtection: boolean;
    /** Automated backups kept, in days, 0 to 35 (production: at least 7). */
    readonly backupRetentionDays: number;
    /** Take a final snapshot when the instance is destroyed (required in production). */
    readonly finalSnapshot: boolean;
    /** @default 'evals' */
    readonly databaseName?: string;
  };
  /** ElastiCache Redis: the queue, the LLM response cache and the shared rate limits. */
  readonly redis: {
    /** e.g. `cache.t4g.small`. */
    readonly nodeType: string;
    /** @default '7.1' */
    readonly engineVersion?: string;
    /** Nodes in the replication group, the primary included, 1 to 6 (production: at least 2). */
    readonly nodes: number;
    /** Daily snapshots kept, in days. @default 0 */
    readonly snapshotRetentionDays?: number;
  };
  /** ClickHouse on EC2: results and LLM calls. */
  readonly clickhouse: ClickhouseInput;
  /** The S3 bucket of artifacts (versioned, KMS-encrypted). */
  readonly bucket?: {
    /** @default `ai-eval-platform-<name>-artifacts-<accountId>` */
    readonly name?: string;
    /** Days before objects move to Standard-IA (at least 30). @default 30 */
    readonly transitionToInfrequentAccessDays?: number;
    /** Days before noncurrent versions expire. @default 90 */
    readonly expireNoncurrentVersionsDays?: number;
    /** Days before incomplete multipart uploads are aborted. @default 7 */
    readonly abortIncompleteUploadsDays?: number;
  };
  /** Secrets Manager. */
  readonly secrets?: {
    /** Name of the LLM keys secret (OPENAI_API_KEY, ANTHROPIC_API_KEY), filled by the operators. @default `<name>/eval-platform/llm-keys` */
    readonly llmKeysName?: string;
    /** Days a deleted secret can be restored, 0 to 30. @default 7 */
    readonly recoveryWindowDays?: number;
  };
  /** AWS Backup for the bucket and the ClickHouse volumes. */
  readonly backup: {
    /** An AWS Backup plan for the bucket and the ClickHouse volumes (required in production). */
    readonly awsBackupPlan: boolean;
    /** @default 35 */
    readonly retentionDays?: number;
    /** AWS Backup cron expression (UTC). @default 'cron(0 3 * * ? *)' */
    readonly schedule?: string;
  };
  /** Private DNS. */
  readonly dns?: {
    /** Private Route 53 zone holding stable names for the data stores. @default 'eval.internal' */
    readonly privateZone?: string;
  };
  /**
   * The images the workloads run: ECR repositories this environment's stack creates
   * (`<clusterName>/orchestrator` and `<clusterName>/worker`), and the release whose images they run.
   */
  readonly images?: {
    /** The repositories' access and lifecycle. */
    readonly registry?: {
      /**
       * The one IAM role that may push (every other principal is denied): CI's release role where builds are
       * pushed, the promotion role where releases are copied in.
       * @default the account bootstrap's `ai-eval-platform-github-promote` in production, `ai-eval-platform-github-release` elsewhere
       */
      readonly pushRoleArn?: string;
      /** Builds (git SHA tags) kept per repository, newest first; version-tagged images never expire. @default 30 */
      readonly keepBuilds?: number;
      /** Untagged images expire after this many days. @default 7 */
      readonly untaggedExpiryDays?: number;
    };
    /**
     * The release the workloads run: the record a release pipeline writes (`parseReleaseRecord(text, file)`
     * reads and validates one), naming each image's repository, tag and digest. Without one the images are
     * tagged `unreleased`, which the go-live checks refuse in production.
     * @default none
     */
    readonly release?: ReleaseRecord;
  };
  /** The platform's namespace and the cluster add-ons it relies on. */
  readonly kubernetes?: {
    /** @default 'ai-eval' */
    readonly namespace?: string;
    /** ResourceQuota of the namespace (Kubernetes quantities). */
    readonly quota?: {
      /** @default '40' */
      readonly cpuRequests?: string;
      /** @default '80Gi' */
      readonly memoryRequests?: string;
      /** @default '80' */
      readonly cpuLimits?: string;
      /** @default '160Gi' */
      readonly memoryLimits?: string;
      /** @default 200 */
      readonly pods?: number;
    };
    /** Namespace of the ingress controller, allowed to reach the orchestrator. @default 'traefik' */
    readonly ingressControllerNamespace?: string;
    /** @default 'traefik' */
    readonly ingressClassName?: string;
    /** Namespace of the External Secrets operator. @default 'external-secrets' */
    readonly externalSecretsNamespace?: string;
    /** Pods' egress to the internet (LLM providers) is allowed to these CIDRs, private ranges excluded. @default '0.0.0.0/0' */
    readonly llmEgressCidr?: string;
    /** Namespace of Prometheus (kube-prometheus-stack), allowed to scrape the services. @default 'monitoring' */
    readonly monitoringNamespace?: string;
    /** `release` label kube-prometheus-stack selects ServiceMonitors and PrometheusRules by. @default 'kube-prometheus-stack' */
    readonly prometheusRelease?: string;
    /** UID of the Grafana Prometheus data source the dashboards query. @default 'prometheus' */
    readonly grafanaPrometheusUid?: string;
    /** UID of the Grafana ClickHouse data source of the run-history panels. @default 'clickhouse' */
    readonly grafanaClickhouseUid?: string;
  };
  /** The orchestrator Deployment. */
  readonly orchestrator: {
    /** Fixed replica count (at least 1). */
    readonly replicas: number;
    /** Container port of the API and /metrics. @default 8080 */
    readonly port?: number;
    /** Host name of the Ingress (TLS from the `orchestrator-tls` Secret). */
    readonly host: string;
    /** CPU and memory of each replica. */
    readonly resources: ResourcesInput;
  };
  /** The worker Deployment, autoscaled by KEDA. */
  readonly worker: {
    /** Fewest replicas; at least 1, since the CPU trigger cannot scale from zero. */
    readonly minReplicas: number;
    /** Most replicas KEDA may run; at least minReplicas. */
    readonly maxReplicas: number;
    /** bee-queue queue the workers consume; KEDA reads `bq:<queueName>:waiting`. @default 'eval-cases' */
    readonly queueName?: string;
    /**
     * Waiting jobs per worker replica before KEDA adds one. A job carries up to `casesPerJob` cases, so the
     * default of 2 is about 50 cases waiting per replica. @default 2
     */
    readonly jobsPerReplica?: number;
    /**
     * Cases one queue job carries at most (the orchestrator's `CASES_PER_JOB`); a run is split into at least 8
     * jobs while it has 8 cases, so small runs still spread across workers. @default 25
     */
    readonly casesPerJob?: number;
    /** CPU utilisation (of requests) the second trigger aims for, 10 to 100. @default 70 */
    readonly cpuTargetPercent?: number;
    /** Cases one worker process evaluates at once, across its jobs. @default 20 */
    readonly concurrency?: number;
    /** CPU and memory of each replica. */
    readonly resources: ResourcesInput;
    /** Backoff and retry for LLM calls, passed to the workers as LLM_RETRY_* variables. */
    readonly llmRetry?: LlmRetryInput;
  };
  /**
   * Cluster add-ons Argo CD installs before the platform (chart versions: `ADDON_CHARTS`): External Secrets,
   * KEDA, kube-prometheus-stack, Traefik, cert-manager and the Cluster Autoscaler.
   */
  readonly addons: {
    /** Contact address of the ACME account cert-manager registers to issue the Ingress certificate. */
    readonly acmeEmail: string;
    /** ACME directory URL. @default Let's Encrypt production, 'https://acme-v02.api.letsencrypt.org/directory' */
    readonly acmeServer?: string;
    /** The Cluster Autoscaler. */
    readonly clusterAutoscaler?: {
      /** Most nodes, all node groups together; at least the sum of their maxSize. @default the sum of the node groups' maxSize */
      readonly maxNodesTotal?: number;
      /** Minutes a node stays unneeded before it is removed. @default 10 */
      readonly scaleDownUnneededMinutes?: number;
    };
    /** The Traefik ingress controller, behind an AWS Network Load Balancer. */
    readonly ingress?: {
      /** Controller replicas (at least 1). @default 2 */
      readonly replicas?: number;
      /** Load balancer scheme. @default 'internet-facing' */
      readonly scheme?: 'internet-facing' | 'internal';
    };
    /** Prometheus of kube-prometheus-stack. */
    readonly prometheus?: {
      /** Days of metrics kept. @default 15 */
      readonly retentionDays?: number;
      /** gp3 volume of Prometheus, in GiB. @default 50 */
      readonly storageGiB?: number;
    };
  };
  /** The Argo CD Application that syncs the synthesized manifests. */
  readonly gitops: {
    /** The GitOps repository's URL. */
    readonly repoUrl: string;
    /** @default 'main' */
    readonly targetRevision?: string;
    /** Folder of the GitOps repository holding `<env>/` synth output. @default 'dist' */
    readonly pathPrefix?: string;
    /** @default 'argocd' */
    readonly argocdNamespace?: string;
    /** Argo CD project. @default 'default' */
    readonly project?: string;
  };
  /** Alerts routed to Slack. */
  readonly alerting: {
    /** Slack channel, e.g. `#eval-alerts`. */
    readonly slackChannel: string;
    /** Waiting jobs above which the Queue Lag alert fires (brief §5.1). @default 1000 */
    readonly queueLagThreshold?: number;
    /** Age of the oldest waiting job that pages Slack (brief §6.4), in minutes. @default 5 */
    readonly oldestJobMinutes?: number;
    /** LLM spend per day, in USD, above which the budget alert fires. */
    readonly dailyLlmBudgetUsd: number;
  };
  /** Production traces in over OTLP (`POST /v1/traces`) and their online evaluation. */
  readonly online?: {
    /** Days spans are kept in ClickHouse, unless a project sets its own. @default 30 */
    readonly traceRetentionDays?: number;
    /** Spans one project may send per second to each orchestrator replica (429 with Retry-After past it). @default 1000 */
    readonly projectSpansPerSecond?: number;
    /** Largest OTLP request once decompressed, in MiB. @default 16 */
    readonly maxTraceBodyMiB?: number;
    /** Spans per second the environment should take from all agents: checked against the orchestrators' CPU. @default 0 */
    readonly expectedSpansPerSecond?: number;
    /** Spans and conversations per second all online evaluators should score: checked against the workers' slots. @default 0 */
    readonly expectedScoredPerSecond?: number;
    /** How long scoring one online case holds a worker's slot (its judge calls), in seconds. @default 4 */
    readonly secondsPerScoredCase?: number;
  };
}
