//! Adam and AdamW over a `VarStore`'s variables, with their moments held as
//! named tensors so that a checkpoint can save them and `--resume` continue
//! exactly where training stopped (tch's optimiser hides its state).

use std::path::Path;

use tch::{Tensor, nn};

use crate::config::{OptimConfig, Optimizer};
use crate::error::{ModelError, Result};

/// The optimiser: first and second moments per variable, and its step.
#[derive(Debug)]
pub struct Adam {
    config: OptimConfig,
    params: Vec<(String, Tensor)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    pub step: i64,
}

impl Adam {
    pub fn new(vs: &nn::VarStore, config: &OptimConfig) -> Self {
        let mut params: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let m = params.iter().map(|(_, p)| p.zeros_like()).collect();
        let v = params.iter().map(|(_, p)| p.zeros_like()).collect();
        Self {
            config: config.clone(),
            params,
            m,
            v,
            step: 0,
        }
    }

    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    /// Global gradient norm, then scaled down to `max` if above it.
    pub fn clip_grad_norm(&self, max: f64) -> f64 {
        let grads: Vec<Tensor> = self
            .params
            .iter()
            .map(|(_, p)| p.grad())
            .filter(Tensor::defined)
            .collect();
        if grads.is_empty() {
            return 0.0;
        }
        let norms: Vec<Tensor> = grads.iter().map(|g| g.norm().unsqueeze(0)).collect();
        let total = Tensor::cat(&norms, 0).norm().double_value(&[]);
        if max > 0.0 && total > max && total.is_finite() {
            let scale = max / (total + 1e-6);
            tch::no_grad(|| {
                for mut g in grads {
                    let _ = g.g_mul_scalar_(scale);
                }
            });
        }
        total
    }

    /// One update at learning rate `lr`.
    pub fn update(&mut self, lr: f64) {
        self.step += 1;
        let c = &self.config;
        let (b1, b2, eps, wd) = (c.beta1, c.beta2, 1e-8, c.weight_decay);
        let bias1 = 1.0 - b1.powi(self.step as i32);
        let bias2 = 1.0 - b2.powi(self.step as i32);
        let decoupled = c.optimizer == Optimizer::Adamw;
        tch::no_grad(|| {
            for ((_, p), (m, v)) in self
                .params
                .iter_mut()
                .zip(self.m.iter_mut().zip(self.v.iter_mut()))
            {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if wd > 0.0 && !decoupled {
                    &g + &*p * wd
                } else {
                    g
                };
                if wd > 0.0 && decoupled {
                    let _ = p.g_mul_scalar_(1.0 - lr * wd);
                }
                // In place, one temporary each for v and the denominator.
                let _ = m.lerp_(&g, 1.0 - b1);
                let _ = v.g_mul_scalar_(b2);
                let _ = v.addcmul_(&(&g * (1.0 - b2)), &g);
                // p -= lr/bias1 · m / (√(v/bias2) + eps), as p += m / d with
                // d = (√v/√bias2 + eps) · (-bias1/lr) (addcdiv_ has no scale).
                let mut denom = v.sqrt();
                let _ = denom.g_div_scalar_(bias2.sqrt());
                let _ = denom.g_add_scalar_(eps);
                let _ = denom.g_mul_scalar_(-bias1 / lr);
                let _ = p.addcdiv_(m, &denom);
            }
        });
    }

    /// Saves the moments and the step (safetensors).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut named: Vec<(String, Tensor)> = Vec::with_capacity(2 * self.params.len() + 1);
        for ((name, _), (m, v)) in self.params.iter().zip(self.m.iter().zip(&self.v)) {
            named.push((format!("m.{name}"), m.shallow_clone()));
            named.push((format!("v.{name}"), v.shallow_clone()));
        }
        named.push(("step".into(), Tensor::from_slice(&[self.step])));
        let tmp = crate::io::temp_path(path);
        Tensor::write_safetensors(&named, &tmp)?;
        Ok(crate::io::commit(&tmp, path)?)
    }

    pub fn load(&mut self, path: &Path) -> Result<()> {
        let saved: std::collections::HashMap<String, Tensor> =
            Tensor::read_safetensors(path)?.into_iter().collect();
        let get = |key: &str| {
            saved
                .get(key)
                .ok_or_else(|| ModelError::invalid(path, format!("optimizer state lacks `{key}`")))
        };
        tch::no_grad(|| -> Result<()> {
            for ((name, _), (m, v)) in self
                .params
                .iter()
                .zip(self.m.iter_mut().zip(self.v.iter_mut()))
            {
                m.copy_(get(&format!("m.{name}"))?);
                v.copy_(get(&format!("v.{name}"))?);
            }
            Ok(())
        })?;
        self.step = get("step")?.int64_value(&[0]);
        Ok(())
    }
}
