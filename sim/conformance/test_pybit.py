"""pybit (Bybit's official Python SDK) pointed at the sim: REST, public WS, private WS, WS trade.

Start: SIM_BIN (default target/release/sim) is launched on 127.0.0.1:0 and prints its URLs.
pybit builds URLs from module constants and a dataclass field, so we point it at the sim by
setting `HTTP.endpoint` after construction and patching `PUBLIC_WSS`/`PRIVATE_WSS`/`TRADE_WSS`.
"""

import json
import os
import subprocess
import threading
import time

import pytest

import pybit._websocket_trading as ws_trading
import pybit.unified_trading as ut
from pybit.unified_trading import HTTP, WebSocket, WebSocketTrading

KEY = "simkey"
SECRET = "simsecret"
TIMEOUT = 15.0


def repo_root():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="module")
def sim():
    binary = os.environ.get("SIM_BIN", os.path.join(repo_root(), "target", "release", "sim"))
    proc = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        urls = json.loads(line)
        ut.PUBLIC_WSS = urls["public_linear"].replace("/linear", "/{CHANNEL_TYPE}")
        ut.PRIVATE_WSS = urls["private"]
        ws_trading.TRADE_WSS = urls["trade"]
        yield urls
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def http(sim):
    s = HTTP(api_key=KEY, api_secret=SECRET, max_retries=1)
    s.endpoint = sim["rest"]
    return s


def wait_for(pred, timeout=TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def best(http, symbol="BTCUSDT"):
    ob = http.get_orderbook(category="linear", symbol=symbol, limit=1)["result"]
    return float(ob["b"][0][0]), float(ob["a"][0][0])


def price(v, decimals=1):
    return f"{v:.{decimals}f}"


def test_server_time_instruments_orderbook(http):
    t = http.get_server_time()
    assert t["retCode"] == 0
    assert abs(int(t["result"]["timeSecond"]) - time.time()) < 5
    ins = http.get_instruments_info(category="linear", symbol="BTCUSDT")
    assert ins["result"]["list"][0]["priceFilter"]["tickSize"] == "0.10"
    ob = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=5)
    assert len(ob["result"]["b"]) == 5 and len(ob["result"]["a"]) == 5
    assert float(ob["result"]["b"][0][0]) < float(ob["result"]["a"][0][0])


def test_order_lifecycle_and_batches(http):
    b, _ = best(http)
    r = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                         qty="0.001", price=price(b * 0.95), orderLinkId="py-1")
    oid = r["result"]["orderId"]
    r = http.amend_order(category="linear", symbol="BTCUSDT", orderId=oid, price=price(b * 0.94))
    assert r["retCode"] == 0
    q = http.get_open_orders(category="linear", symbol="BTCUSDT")
    rows = [o for o in q["result"]["list"] if o["orderId"] == oid]
    assert rows and float(rows[0]["price"]) == float(price(b * 0.94))
    r = http.cancel_order(category="linear", symbol="BTCUSDT", orderId=oid)
    assert r["result"]["orderId"] == oid
    time.sleep(1.0)  # fresh per-second budget for the batch
    reqs = [{"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
             "price": price(b * 0.9), "orderLinkId": f"pyb-{i}"} for i in range(3)]
    r = http.place_batch_order(category="linear", request=reqs)
    assert [x["code"] for x in r["retExtInfo"]["list"]] == [0, 0, 0]
    r = http.cancel_batch_order(category="linear", request=[
        {"symbol": "BTCUSDT", "orderLinkId": f"pyb-{i}"} for i in range(3)])
    assert [x["code"] for x in r["retExtInfo"]["list"]] == [0, 0, 0]
    q = http.get_open_orders(category="linear", symbol="BTCUSDT")
    assert q["result"]["list"] == []


def test_public_orderbook_snapshot_and_deltas(sim):
    got = []
    ws = WebSocket(testnet=False, channel_type="linear")
    try:
        # pybit hands every callback the same merged book object: copy what we need.
        def on_book(m):
            d = m["data"]
            got.append((d["u"], float(d["b"][0][0]), float(d["a"][0][0]), len(d["b"])))

        ws.orderbook_stream(50, "BTCUSDT", on_book)
        assert wait_for(lambda: len(got) >= 10)
        us = [g[0] for g in got[:10]]
        assert us == list(range(us[0], us[0] + 10)), us
        for _, bid, ask, depth in got[:10]:
            assert bid < ask
            assert depth == 50
    finally:
        ws.exit()


def test_private_pushes_after_fill(sim, http):
    orders, execs, positions = [], [], []
    ws = WebSocket(testnet=False, channel_type="private", api_key=KEY, api_secret=SECRET)
    try:
        ws.order_stream(lambda m: orders.append(m))
        ws.execution_stream(lambda m: execs.append(m))
        ws.position_stream(lambda m: positions.append(m))
        time.sleep(0.5)  # let the subscriptions be acknowledged
        r = http.place_order(category="linear", symbol="BTCUSDT", side="Buy",
                             orderType="Market", qty="0.002", orderLinkId="py-mkt")
        assert r["retCode"] == 0
        assert wait_for(lambda: execs and orders and positions)
        assert execs[0]["data"][0]["orderLinkId"] == "py-mkt"
        assert wait_for(lambda: any(o["data"][0]["orderStatus"] == "Filled" for o in orders))
        assert any(p["data"][0]["size"] != "0" for p in positions)
        pos = http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
        assert pos["side"] == "Buy"
        ex = http.get_executions(category="linear", symbol="BTCUSDT")
        assert ex["result"]["list"]
    finally:
        ws.exit()


def test_ws_trade_create_cancel(sim, http):
    b, _ = best(http)
    done = threading.Event()
    results = {}
    wst = WebSocketTrading(testnet=False, api_key=KEY, api_secret=SECRET)
    try:
        def on_create(m):
            results["create"] = m
            done.set()

        wst.place_order(on_create, category="linear", symbol="BTCUSDT", side="Buy",
                        orderType="Limit", qty="0.001", price=price(b * 0.9), orderLinkId="py-ws-1")
        assert done.wait(TIMEOUT)
        assert results["create"]["retCode"] == 0
        oid = results["create"]["data"]["orderId"]
        done.clear()

        def on_cancel(m):
            results["cancel"] = m
            done.set()

        wst.cancel_order(on_cancel, category="linear", symbol="BTCUSDT", orderId=oid)
        assert done.wait(TIMEOUT)
        assert results["cancel"]["retCode"] == 0
        assert results["cancel"]["data"]["orderId"] == oid
    finally:
        wst.exit()
