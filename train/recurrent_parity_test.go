package train_test

import (
	"path/filepath"
	"testing"
)

// recurrentDir holds models/make_recurrent.py's exports of nn.LSTM, nn.GRU
// and nn.RNN (models/today's schema): an LSTM classifier, a bidirectional
// two-layer GRU whose second group takes the reverse direction's half of
// each W, R and B, and an RNN with a trained initial state.
var recurrentDir = filepath.Join("..", "models", "recurrent")

// recurrentPassing lists, per test, the exports that pass.
var recurrentPassing = map[string][]string{
	"params": {"lstm_cls_ts", "lstm_cls_dynamo", "gru_bi2_ts", "gru_bi2_dynamo", "rnn_cls_ts"},
	"run":    {"lstm_cls_ts", "lstm_cls_dynamo", "gru_bi2_ts", "gru_bi2_dynamo", "rnn_cls_ts", "rnn_cls_dynamo"},
	"train":  {"lstm_cls_ts", "lstm_cls_dynamo", "gru_bi2_ts", "gru_bi2_dynamo", "rnn_cls_ts"},
}

func TestRecurrentParamTable(t *testing.T) {
	runCases(t, recurrentDir, recurrentPassing["params"], todayParamTable)
}

func TestRecurrentRunMatchesORT(t *testing.T) {
	runCases(t, recurrentDir, recurrentPassing["run"], todayRun)
}

func TestRecurrentTrainParity(t *testing.T) {
	runCases(t, recurrentDir, recurrentPassing["train"], todayTrain)
}
