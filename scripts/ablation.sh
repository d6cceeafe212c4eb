#!/usr/bin/env bash
# The cylinder2d ablation: the paper's recipe, the measured recipe ("Fs") and the variants
# that try to improve on it, and the static model with and without its latent tied to the
# pooled input, each for several seeds, then one evaluation of all.
#
#   bash scripts/ablation.sh [MINUTES] [SEEDS...]     # default: 20 minutes, seeds 0 1
#
# ABLATION_ONLY="paper fs" runs only the named variants; ABLATION_EVAL=0 skips the final
# evaluation (to run several of these side by side, one per core, and evaluate once).
# Needs the generated cylinder2d set (diano generate cylinder2d). Runs one training after
# another (each resumable: rerunning skips finished variants), writes the checkpoints under
# runs/ablation/<variant>-s<seed>/ and the table with `diano evaluate --ablation`.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-20}"
shift || true
if [[ $# -gt 0 ]]; then seeds=("$@"); else seeds=(0 1); fi
diano=".venv/bin/diano"

variant() {  # name, then extra arguments of diano train (SCENARIO=static for a static run)
    local name="$1" scenario="${SCENARIO:-temporal}"
    shift
    if [[ -n "${ABLATION_ONLY:-}" && " ${ABLATION_ONLY} " != *" ${name} "* ]]; then
        return
    fi
    for seed in "${seeds[@]}"; do
        local dir="runs/ablation/${name}-s${seed}"
        local out="${dir}/cylinder2d/diano-${scenario}.safetensors"
        if [[ -f "$out" ]]; then
            echo "${out} exists; skipped"
            continue
        fi
        local resume=()
        [[ -f "${dir}/last.pt" ]] && resume=(--resume)
        "$diano" train cylinder2d diano --scenario "$scenario" --minutes "$minutes" --seed "$seed" \
            --half --no-progress --run-dir "$dir" --out "$out" "${resume[@]}" "$@"
    done
}

variant paper --preset paper                   # one-step teacher forcing, diagonal c, nu = 2/Re
variant fs-k100 --no-carrier --tie-region wake --k-max 100  # the measured recipe as prototyped
variant fs --no-carrier --tie-region wake      # the measured recipe: periodic latent, K to 200
variant fs-oucs2 --no-carrier --tie-region wake --scheme oucs2  # less dispersive advection
variant fs-boxtie --no-carrier --tie-region box  # readability tied over the whole box
variant fs-carrier --correction 0 --edit-weight 0  # an open field fed at the cylinder by
                                               # a periodic carrier, box tie, no edit term
variant fs-carrier-w1 --correction 0 --edit-weight 0 --tie-weight 1.0  # twice as strong a tie
variant fs-carrier-c4 --correction 0 --edit-weight 0 --scheme central4  # fourth-order advection
variant fs-carrier-edit --correction 0 --edit-weight 0.5  # the carrier, and a latent bump
                                               # must decode to itself
variant fs-carrier-edit2 --correction 0 --edit-weight 2.0  # the same, four times as strong
variant fs-carrier-edit01 --correction 0 --edit-weight 0.1  # the same, five times weaker
variant fs-carrier-edit02 --correction 0 --edit-weight 0.2  # the same, 0.4 times as strong
variant fs-carrier-edit-a05 --correction 0 --edit-weight 0.5 --edit-amplitude 0.5  # lower bumps
variant fs-carrier-edit-late --correction 0 --edit-weight 0.5 --edit-start 0.6  # from K = 200
variant fs-carrier-corr --edit-weight 0 --correction 16  # the carrier with a learned local
                                               # rate downstream of the source, no edit term
variant fs-carrier-edit-corr --edit-weight 0.5 --correction 16  # the shipped recipe: the
                                               # edit term and the learned local rate
variant fs-carrier-edit-corr-m40 --edit-weight 0.5 --correction 16 --edit-steps 40  # edits
                                               # marched 0-40 steps before they are compared
variant fs-learned --no-carrier --tie-region wake --learnable-pde  # nu and c trained
SCENARIO=static variant static-tied             # static, latent tied to the pooled input (shipped)
SCENARIO=static variant static-untied --tie-weight 0  # static without the tie
if [[ "${ABLATION_EVAL:-1}" != 0 ]]; then
    "$diano" evaluate --ablation runs/ablation --out docs/results.md --json docs/results.json
fi
