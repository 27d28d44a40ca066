//! First-page latency of `GetParametersByPath` over 10,000 parameters in the embedded (SQLite)
//! store: 100 paths of 100 parameters each (`/bench/app<NN>/param<NN>`). Both reads start a
//! store scan at the path's prefix, so they should not depend on the size of the tree.
//!
//! `cargo bench -p palisade-ssm --bench by_path`

#![expect(
    clippy::unwrap_used,
    reason = "benchmark setup: a failure aborts the run"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_core::clock::SystemClock;
use palisade_core::keys::{DataKey, EncryptionContext, KeyRef, KeyService, Via};
use palisade_core::service::BoxFuture;
use palisade_core::{AccountId, Principal, Region, RequestContext, Sensitive, ServiceError};
use palisade_model_ssm::Ssm;
use palisade_model_ssm::types::*;
use palisade_ssm::ParameterStore;
use palisade_store::{Store, StoreConfig};

const PATHS: usize = 100;
const PER_PATH: usize = 100;

fn by_path(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let ctx = context();
    let parameters = runtime.block_on(async {
        let store = Store::open(&StoreConfig::Embedded {
            data_dir: dir.path().to_owned(),
        })
        .await
        .unwrap();
        let parameters = ParameterStore::new(store, Arc::new(SystemClock), Arc::new(NoKeys));
        for app in 0..PATHS {
            for param in 0..PER_PATH {
                let request = PutParameterRequest {
                    name: format!("/bench/app{app:02}/param{param:02}"),
                    value: Sensitive::new(format!("value-{app}-{param}")),
                    r#type: Some(ParameterType::String),
                    ..Default::default()
                };
                parameters.put_parameter(&ctx, request).await.unwrap();
            }
        }
        parameters
    });
    let request = |path: &str, recursive: bool| GetParametersByPathRequest {
        path: path.to_owned(),
        recursive: Some(recursive),
        max_results: Some(10),
        ..Default::default()
    };
    // The last case has every parameter two levels below `/bench`: the read skips 100 subtrees.
    let cases = [
        ("one_level/first_page_of_10k", "/bench/app42", false),
        ("recursive/first_page_of_10k", "/bench", true),
        ("one_level/above_10k_deeper", "/bench", false),
    ];
    for (case, path, recursive) in cases {
        c.bench_function(&format!("get_parameters_by_path/{case}"), |b| {
            b.iter(|| {
                let page = runtime
                    .block_on(parameters.get_parameters_by_path(&ctx, request(path, recursive)))
                    .unwrap();
                black_box(page)
            });
        });
    }
}

fn context() -> RequestContext {
    RequestContext {
        request_id: "bench".to_owned(),
        principal: Principal::root(AccountId::local_default(), "bench"),
        region: Region::us_east_1(),
        source_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        user_agent: "bench".to_owned(),
        time: std::time::SystemTime::now(),
        secure_transport: false,
    }
}

/// The benchmark stores only String parameters, so KMS is never asked.
struct NoKeys;

impl KeyService for NoKeys {
    fn generate_data_key<'a>(
        &'a self,
        _: &'a RequestContext,
        _: Via<'a>,
        _: KeyRef<'a>,
        _: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<DataKey, ServiceError>> {
        Box::pin(async { Err(ServiceError::internal("no KMS in this benchmark")) })
    }

    fn encrypt<'a>(
        &'a self,
        _: &'a RequestContext,
        _: Via<'a>,
        _: KeyRef<'a>,
        _: &'a [u8],
        _: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<(Vec<u8>, String), ServiceError>> {
        Box::pin(async { Err(ServiceError::internal("no KMS in this benchmark")) })
    }

    fn decrypt<'a>(
        &'a self,
        _: &'a RequestContext,
        _: Via<'a>,
        _: &'a [u8],
        _: &'a EncryptionContext,
    ) -> BoxFuture<'a, Result<Sensitive<Vec<u8>>, ServiceError>> {
        Box::pin(async { Err(ServiceError::internal("no KMS in this benchmark")) })
    }
}

criterion_group!(benches, by_path);
criterion_main!(benches);
