"""The benchmark peer of bench/study.ts: the equal-work study written the way a quant would write it
with pandas + numpy + xgboost 1.7 (vectorised; Python loops only where the computation is sequential
in time: the held book's sizing, and one xgboost fit per fold).

Stages (each timed; peak RSS from getrusage), the same work as TradeML's nightly stages:
  ingest     read the 505 S&P CSVs, types, drop invalid/duplicate rows, sort, write Parquet
  audit      per-date coverage, OHLC consistency, jumps, stale closes, zero volume, ex-date gaps
             back-adjusted in a curated view, report JSON, curated Parquet
  features   the 15 features of configs/features/equities.yml (per-symbol rolling windows), cross-
             sectional rank / z-score per date, Parquet
  labels     horizon label ln(C_{t+1+k}/O_{t+1}) (k = 5) and the triple barrier (20-day sigma, tp 2, sl 1,
             max_h 10, entered at the next open), Parquet
  fit        one CPCV sleeve: N = 8 groups, k = 2 -> 28 splits, purged by label intervals and a 10-bar
             embargo; xgboost hist, depth 6, eta 0.05, 200 rounds, every date, no early stopping; the
             7 walk-forward folds and the final refit; OOF Parquet, daily (rank) IC per path
  portfolio  per path: rank -> z -> long/short books capped at 5% by water-filling, vol target on the
             held book's trailing net returns, trade rate 0.2
  backtest   per path: next-open fills, fees + half-spread + square-root impact + borrow, metrics
  gate       PSR / DSR per path, PBO by CSCV (16 blocks) over the trial return streams
Run: bench/peer/.venv/bin/python bench/peer/study.py <data dir> <out dir>   (prints one JSON object)
"""
import glob
import itertools
import json
import math
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb

DATA = sys.argv[1]
OUT = sys.argv[2]
THREADS = int(os.environ.get('PEER_THREADS', '2'))
ROUNDS = int(os.environ.get('PEER_ROUNDS', '200'))
os.makedirs(OUT, exist_ok=True)
stages = {}


def peak_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def timed(name):
    def deco(fn):
        def run(*a):
            t0 = time.perf_counter()
            c0 = time.process_time()
            v = fn(*a)
            stages[name] = {'wall_s': round(time.perf_counter() - t0, 3), 'cpu_s': round(time.process_time() - c0, 3), 'peak_rss_mb': peak_mb()}
            return v
        return run
    return deco


@timed('ingest')
def ingest():
    files = sorted(glob.glob(os.path.join(DATA, 'individual_stocks_5yr', '*_data.csv')))
    parts = [pd.read_csv(f, dtype={'open': 'float64', 'high': 'float64', 'low': 'float64', 'close': 'float64', 'volume': 'float64', 'Name': 'string'}) for f in files]
    df = pd.concat(parts, ignore_index=True).rename(columns={'Name': 'symbol'})
    df['date'] = pd.to_datetime(df['date'], format='%Y-%m-%d')
    df = df.dropna(subset=['date', 'symbol', 'close'])
    df = df[(df['close'] > 0)].drop_duplicates(['symbol', 'date'], keep='last')
    df = df.sort_values(['symbol', 'date'], kind='mergesort').reset_index(drop=True)
    df.to_parquet(os.path.join(OUT, 'table.parquet'), index=False)
    return df, len(files)


@timed('audit')
def audit(df):
    g = df.groupby('symbol', sort=False)
    prev_close = g['close'].shift(1)
    lr = np.log(df['close'] / prev_close)
    bad_ohlc = (df['high'] < df[['open', 'close']].max(axis=1)) | (df['low'] > df[['open', 'close']].min(axis=1))
    jump = lr.abs() > 0.4
    stale = g['close'].transform(lambda s: s.diff().eq(0).rolling(5).sum()) >= 5
    zero_vol = df['volume'].fillna(0) <= 0
    per_date = df.groupby('date')['symbol'].count()
    coverage = per_date / df['symbol'].nunique()
    status_by_date = np.where(coverage >= 0.98, 'GREEN', np.where(coverage >= 0.9, 'AMBER', 'RED'))
    # ex-date corporate actions: the whole move in the opening gap, the session itself ordinary
    gap = np.log(df['open'] / prev_close)
    intraday = np.log(df['close'] / df['open'])
    ca = (gap.abs() > 0.25) & (intraday.abs() < 0.05)
    factor = pd.Series(np.where(ca, np.exp(gap), 1.0), index=df.index)
    # back-adjust: every row before an ex-date of its symbol times the product of the later factors
    later = factor.groupby(df['symbol'], sort=False).transform(lambda f: f[::-1].cumprod()[::-1].shift(-1, fill_value=1.0))
    cur = df.copy()
    for c in ('open', 'high', 'low', 'close'):
        cur[c] = cur[c] * later
    cur['volume'] = cur['volume'] / later
    cur.to_parquet(os.path.join(OUT, 'curated.parquet'), index=False)
    report = {
        'rows': int(len(df)), 'symbols': int(df['symbol'].nunique()), 'dates': int(len(per_date)),
        'bad_ohlc': int(bad_ohlc.sum()), 'jumps': int(jump.sum()), 'stale': int(stale.sum()), 'zero_volume': int(zero_vol.sum()),
        'corporate_actions': df.loc[ca, ['symbol']].assign(date=df.loc[ca, 'date'].dt.strftime('%Y-%m-%d')).to_dict('records'),
        'status_counts': {k: int(v) for k, v in zip(*np.unique(status_by_date, return_counts=True))},
    }
    with open(os.path.join(OUT, 'audit_report.json'), 'w') as f:
        json.dump(report, f)
    return cur, report


def xs_rank(df, cols):
    """Per-date rank in [-0.5, 0.5] (average ties), NaN kept."""
    r = df.groupby('date')[cols].rank(method='average')
    n = df.groupby('date')[cols].transform('count')
    return (r - 1) / (n - 1).where(n > 1) - 0.5


@timed('features')
def features(cur):
    df = cur[['date', 'symbol', 'open', 'high', 'low', 'close', 'volume']].copy()
    g = df.groupby('symbol', sort=False)
    lc = np.log(df['close'])
    lr = lc - g['close'].shift(1).pipe(np.log)
    df['lr'] = lr
    f = pd.DataFrame({'date': df['date'], 'symbol': df['symbol']})
    for w in (5, 20, 60, 126):
        f[f'mom_{w}'] = lc - np.log(g['close'].shift(w))
    gl = df.groupby('symbol', sort=False)['lr']
    for w in (20, 60):
        f[f'rvol_{w}'] = gl.transform(lambda s: s.rolling(w).std()) * math.sqrt(252)
    dv = df['close'] * df['volume']
    f['adv_20'] = np.log(dv.groupby(df['symbol'], sort=False).transform(lambda s: s.rolling(20).mean()))
    dow = df['date'].dt.dayofweek
    f['dow_sin'] = np.sin(2 * np.pi * dow / 5)
    f['dow_cos'] = np.cos(2 * np.pi * dow / 5)
    ma = g['close'].transform(lambda s: s.rolling(20).mean())
    sd = g['close'].transform(lambda s: s.rolling(20).std())
    f['zclose_20'] = (df['close'] - ma) / sd
    f['boll_20'] = (df['close'] - ma) / (2 * sd)
    f['gap'] = df['open'] / g['close'].shift(1) - 1
    f['gap_mean_20'] = f.groupby('symbol', sort=False)['gap'].transform(lambda s: s.rolling(20).mean())
    f['dd_252'] = df['close'] / g['close'].transform(lambda s: s.rolling(252, min_periods=1).max()) - 1
    mkt = df.groupby('date')['lr'].transform('mean')
    df['mkt'] = mkt
    df['xy'] = df['lr'] * mkt
    df['yy'] = mkt * mkt
    gg = df.groupby('symbol', sort=False)
    m_xy = gg['xy'].transform(lambda s: s.rolling(60).mean())
    m_x = gg['lr'].transform(lambda s: s.rolling(60).mean())
    m_y = gg['mkt'].transform(lambda s: s.rolling(60).mean())
    m_yy = gg['yy'].transform(lambda s: s.rolling(60).mean())
    f['beta_60'] = (m_xy - m_x * m_y) / (m_yy - m_y * m_y)
    rank_cols = [c for c in f.columns if c not in ('date', 'symbol', 'dow_sin', 'dow_cos', 'zclose_20')]
    f[rank_cols] = xs_rank(f, rank_cols)
    z = f.groupby('date')['zclose_20']
    f['zclose_20'] = ((f['zclose_20'] - z.transform('mean')) / z.transform('std')).clip(-3, 3)
    f.to_parquet(os.path.join(OUT, 'features.parquet'), index=False)
    return f


@timed('labels')
def labels(cur):
    df = cur[['date', 'symbol', 'open', 'high', 'low', 'close']]
    g = df.groupby('symbol', sort=False)
    k = 5
    entry = g['open'].shift(-1)
    hz = pd.DataFrame({'date': df['date'], 'symbol': df['symbol'], 'label': np.log(g['close'].shift(-(1 + k)) / entry), 't1': g['date'].shift(-(1 + k))})
    hz = hz.dropna(subset=['label', 't1'])
    hz.to_parquet(os.path.join(OUT, 'labels_horizon.parquet'), index=False)
    # triple barrier: sigma over 20 returns, barriers from the fill bar on, max_h 10
    H = 10
    lr = np.log(df['close'] / g['close'].shift(1))
    sigma = lr.groupby(df['symbol'], sort=False).transform(lambda s: s.rolling(20).std()).to_numpy()
    E = entry.to_numpy()
    u, d = 2 * sigma, -1 * sigma
    hit = np.full(len(df), -1)
    lab = np.zeros(len(df))
    ret = np.full(len(df), np.nan)
    for j in range(1, H + 1):
        o = np.log(g['open'].shift(-j).to_numpy() / E)
        hi = np.log(g['high'].shift(-j).to_numpy() / E)
        lo = np.log(g['low'].shift(-j).to_numpy() / E)
        free = hit < 0
        gap_up = free & (j > 1) & (o >= u)
        gap_dn = free & (j > 1) & (o <= d) & ~gap_up
        sl = free & ~gap_up & ~gap_dn & (lo <= d)
        tp = free & ~gap_up & ~gap_dn & ~sl & (hi >= u)
        for m, lv, rv in ((gap_up, 1, o), (gap_dn, -1, o), (sl, -1, d), (tp, 1, u)):
            hit[m] = j
            lab[m] = lv
            ret[m] = rv[m]
    last_close = np.log(g['close'].shift(-H).to_numpy() / E)
    vert = hit < 0
    ret[vert] = last_close[vert]
    hit[vert] = H
    ok = np.isfinite(sigma) & (sigma > 0) & np.isfinite(E) & np.isfinite(last_close)
    dates = df['date'].to_numpy()
    t1 = g['date'].shift(-H).to_numpy()
    tb = pd.DataFrame({'date': dates, 'symbol': df['symbol'].to_numpy(), 'label': lab, 'ret': ret, 'holding': hit, 't1': t1})[ok]
    tb.to_parquet(os.path.join(OUT, 'labels_tb.parquet'), index=False)
    return hz, tb


def daily_ic(dates_idx, score, label):
    """Daily cross-sectional IC and rank IC (vectorised per-date Pearson on values and on ranks)."""
    d = pd.DataFrame({'d': dates_idx, 's': score, 'y': label}).dropna()
    r = d.groupby('d')[['s', 'y']].rank()
    d['rs'], d['ry'] = r['s'], r['y']

    def corr(a, b):
        g = d.groupby('d')
        da, db = d[a] - g[a].transform('mean'), d[b] - g[b].transform('mean')
        t = pd.DataFrame({'d': d['d'], 'ab': da * db, 'aa': da * da, 'bb': db * db}).groupby('d').sum()
        return t['ab'] / np.sqrt(t['aa'] * t['bb'])

    return corr('s', 'y'), corr('rs', 'ry')


@timed('fit')
def fit(f, hz):
    p = f.merge(hz, on=['date', 'symbol'], how='inner').sort_values(['date', 'symbol'], kind='mergesort').reset_index(drop=True)
    feats = [c for c in f.columns if c not in ('date', 'symbol')]
    X = p[feats].to_numpy(np.float32)
    y = (p.groupby('date')['label'].rank(method='average') - 1) / (p.groupby('date')['label'].transform('count') - 1) - 0.5
    y = y.to_numpy(np.float32)
    udates = np.sort(p['date'].unique())
    di = np.searchsorted(udates, p['date'].to_numpy())
    t1i = np.searchsorted(udates, p['t1'].to_numpy(), side='right') - 1
    nd, N, K, EMB = len(udates), 8, 2, 10
    bounds = np.linspace(0, nd, N + 1).astype(int)
    grp = np.searchsorted(bounds, di, side='right') - 1
    params = {'objective': 'reg:squarederror', 'tree_method': 'hist', 'max_depth': 6, 'eta': 0.05, 'nthread': THREADS, 'seed': 42, 'max_bin': 256}

    def train_mask(test_groups):
        test = np.isin(grp, test_groups)
        train = ~test
        for g_ in test_groups:
            a, b = bounds[g_], bounds[g_ + 1] - 1
            train &= ~((di <= b) & (t1i >= a))  # purge: label interval overlaps the test block
            train &= ~((di > b) & (di <= b + EMB))  # embargo after the block
        return train, test

    def fit_predict(train, test, rounds=ROUNDS):
        b = xgb.train(params, xgb.DMatrix(X[train], label=y[train], missing=np.nan, nthread=THREADS), num_boost_round=rounds)
        return b, b.predict(xgb.DMatrix(X[test], missing=np.nan, nthread=THREADS))

    splits = list(itertools.combinations(range(N), K))
    oof = np.full((N - 1, len(p)), np.nan, dtype=np.float32)
    seen = np.zeros(N, dtype=int)
    t0 = time.perf_counter()
    for s in splits:
        train, test = train_mask(list(s))
        _, pred = fit_predict(train, test)
        out = np.full(len(p), np.nan, dtype=np.float32)
        out[test] = pred
        for g_ in s:  # path assignment: the j-th split testing group g feeds path j of group g
            m = grp == g_
            oof[seen[g_], m] = out[m]
            seen[g_] += 1
    cpcv_s = time.perf_counter() - t0
    wf = np.full(len(p), np.nan, dtype=np.float32)
    for g_ in range(1, N):
        test = grp == g_
        train = (grp < g_) & ~((t1i >= bounds[g_]))
        _, pred = fit_predict(train, test)
        wf[test] = pred
    final, _ = fit_predict(np.ones(len(p), bool), np.zeros(len(p), bool))
    final.save_model(os.path.join(OUT, 'model.json'))
    ics = []
    for q in range(N - 1):
        ic, ric = daily_ic(di, oof[q], p['label'].to_numpy())
        ics.append({'path': q + 1, 'ic': float(ic.mean()), 'rank_ic': float(ric.mean()), 'icir': float(ic.mean() / ic.std())})
    rows = [pd.DataFrame({'path': q + 1, 'date': p['date'], 'symbol': p['symbol'], 'score': oof[q], 'label': p['label']}) for q in range(N - 1)]
    rows.append(pd.DataFrame({'path': 0, 'date': p['date'], 'symbol': p['symbol'], 'score': wf, 'label': p['label']}))
    o = pd.concat(rows, ignore_index=True).dropna(subset=['score'])
    o.to_parquet(os.path.join(OUT, 'oof.parquet'), index=False)
    return o, {'rows': int(len(p)), 'features': len(feats), 'splits': len(splits), 'cpcv_28_s': round(cpcv_s, 3), 'paths': ics,
               'mean_rank_ic': float(np.mean([x['rank_ic'] for x in ics]))}


def pivot(o, path, dates, syms):
    s = o[o['path'] == path].pivot(index='date', columns='symbol', values='score')
    return s.reindex(index=dates, columns=syms).to_numpy()


def base_book(score_row, close_row, cap=0.05, gross=1.0, min_names=10):
    w = np.zeros_like(score_row)
    ok = np.isfinite(score_row) & (close_row > 0)
    n = int(ok.sum())
    if n < min_names:
        return w
    r = pd.Series(score_row[ok]).rank(method='average').to_numpy() - 1
    z = (r - (n - 1) / 2) / r.std()
    out = np.zeros(n)
    for side in (1, -1):
        v = np.where(side * z > 0, side * z, 0.0)
        capped = np.zeros(n, bool)
        size = gross / 2
        for _ in range(n):
            free = v[~capped].sum()
            scale = (size - capped.sum() * cap) / free if free > 0 else 0
            new = (~capped) & (v * scale > cap + 1e-15)
            if not new.any():
                break
            capped |= new
        out += side * np.where(capped, cap, v * scale)
    w[ok] = out
    return w


@timed('portfolio')
def portfolio(o, cur):
    px = cur.pivot(index='date', columns='symbol', values='close')
    dates, syms = px.index, px.columns
    close = px.to_numpy()
    ret = np.nan_to_num(close[1:] / close[:-1] - 1)
    ret = np.vstack([np.zeros(len(syms)), ret])
    books = {}
    for path in sorted(o['path'].unique()):
        S = pivot(o, path, dates, syms)
        held = np.zeros(len(syms))
        W = np.zeros_like(S)
        hist = []
        for t in range(len(dates)):
            if t > 0:
                hist.append(float(held @ ret[t]))
            tgt = base_book(S[t], close[t])
            h = np.array(hist[-63:])
            lev = 1.0
            if len(h) >= 20 and h.std() > 0:
                lev = min(4.0, max(0.25, 0.10 / (h.std() * math.sqrt(252))))
            held = held + 0.2 * (np.clip(tgt * lev, -0.05, 0.05) - held)
            held[~(close[t] > 0)] = 0
            W[t] = held
        books[int(path)] = W
    np.savez(os.path.join(OUT, 'weights.npz'), **{str(k): v for k, v in books.items()})
    return books, dates, syms


@timed('backtest')
def backtest(books, dates, cur):
    op = cur.pivot(index='date', columns='symbol', values='open').to_numpy()
    cl = cur.pivot(index='date', columns='symbol', values='close').to_numpy()
    vol = cur.pivot(index='date', columns='symbol', values='volume').to_numpy()
    lr = np.log(cl[1:] / cl[:-1])
    sig = pd.DataFrame(np.vstack([np.full(cl.shape[1], np.nan), lr])).rolling(20).std().to_numpy()
    adv = pd.DataFrame(cl * vol).rolling(20).mean().shift(1).to_numpy()
    adv_bps = np.where(adv >= 1e8, 25, np.where(adv >= 2e7, 75, 300)) / 1e4 / 252
    oo = np.nan_to_num(op[2:] / op[1:-1] - 1)  # position decided at t, filled at O_{t+1}, held to O_{t+2}
    res = {}
    for path, W in books.items():
        w = W[:-2]
        dw = np.abs(np.diff(np.vstack([np.zeros(W.shape[1]), W]), axis=0))[:-2]
        impact = np.where(np.isfinite(sig[:-2]) & (adv[:-2] > 0), 0.5 * sig[:-2] * np.sqrt(dw * 1e8 / np.where(adv[:-2] > 0, adv[:-2], 1)), 50 / 1e4)
        cost = (dw * (5.5 / 1e4 + impact)).sum(1) + (np.maximum(-w, 0) * adv_bps[:-2]).sum(1)
        gross = (w * oo).sum(1)
        net = gross - cost
        same_close = (W[:-1] * np.nan_to_num(cl[1:] / cl[:-1] - 1)).sum(1)
        eq = np.cumsum(net)
        dd = float((eq - np.maximum.accumulate(eq)).min())
        down = net[net < 0]
        res[path] = {'sharpe': float(net.mean() / net.std() * math.sqrt(252)), 'gross_sharpe': float(gross.mean() / gross.std() * math.sqrt(252)),
                     'close_sharpe': float(same_close.mean() / same_close.std() * math.sqrt(252)),
                     'sortino': float(net.mean() / down.std() * math.sqrt(252)) if len(down) > 1 else None, 'max_dd': dd,
                     'turnover': float(dw.sum(1).mean()), 'net': net}
    pd.DataFrame({f'p{k}': v['net'] for k, v in res.items()}).to_parquet(os.path.join(OUT, 'returns.parquet'))
    return res


def norm_cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


@timed('gate')
def gate(res):
    from scipy.stats import norm
    nets = np.array([v['net'] for k, v in sorted(res.items()) if k > 0])
    srs = nets.mean(1) / nets.std(1)
    n_trials, var_sr = max(len(srs), 2), float(np.var(srs))
    emc = 0.5772156649
    sr0 = math.sqrt(var_sr) * ((1 - emc) * norm.ppf(1 - 1 / n_trials) + emc * norm.ppf(1 - 1 / (n_trials * math.e)))
    out = []
    for r in nets:
        sr, T = r.mean() / r.std(), len(r)
        sk = float(pd.Series(r).skew())
        ku = float(pd.Series(r).kurt()) + 3
        den = math.sqrt(max(1e-12, 1 - sk * sr + (ku - 1) / 4 * sr * sr))
        out.append({'psr': norm_cdf((sr - 0) * math.sqrt(T - 1) / den), 'dsr': norm_cdf((sr - sr0) * math.sqrt(T - 1) / den)})
    # PBO by CSCV: 16 blocks, every half as in-sample
    S = 16
    M = nets.T[: (nets.shape[1] // S) * S]
    blocks = np.array_split(np.arange(len(M)), S)
    logits = []
    for ins in itertools.combinations(range(S), S // 2):
        i_rows = np.concatenate([blocks[b] for b in ins])
        o_rows = np.concatenate([blocks[b] for b in range(S) if b not in ins])
        si = M[i_rows].mean(0) / M[i_rows].std(0)
        so = M[o_rows].mean(0) / M[o_rows].std(0)
        best = int(np.argmax(si))
        w = (so < so[best]).sum() / len(so) + 0.5 / len(so)
        logits.append(math.log(w / (1 - w)))
    pbo = float(np.mean(np.array(logits) <= 0))
    verdict = {'paths': out, 'pbo': pbo, 'median_sharpe': float(np.median([res[k]['sharpe'] for k in res if k > 0])), 'passed': pbo < 0.5 and min(x['dsr'] for x in out) > 0.95}
    with open(os.path.join(OUT, 'verdict.json'), 'w') as fh:
        json.dump(verdict, fh)
    return verdict


t_all = time.perf_counter()
table, n_files = ingest()
curated, report = audit(table)
feat = features(curated)
hz, tb = labels(curated)
oof, fit_info = fit(feat, hz)
books, dates, syms = portfolio(oof, curated)
res = backtest(books, dates, curated)
verdict = gate(res)
total = time.perf_counter() - t_all
print(json.dumps({
    'bench': 'study_peer', 'versions': {'python': sys.version.split()[0], 'numpy': np.__version__, 'pandas': pd.__version__, 'xgboost': xgb.__version__},
    'files': n_files, 'rows': int(len(table)), 'threads': THREADS, 'rounds': ROUNDS,
    'stages': stages, 'total_s': round(total, 3), 'but_fit_s': round(total - stages['fit']['wall_s'], 3),
    'peak_rss_mb': peak_mb(), 'fit': fit_info, 'tb_label_counts': {str(k): int(v) for k, v in tb['label'].value_counts().items()},
    'gate': {'pbo': verdict['pbo'], 'median_sharpe': verdict['median_sharpe'], 'passed': verdict['passed']},
}))
