"""Tiny local models of every family, saved with save_pretrained and loaded back through from_pretrained."""
from __future__ import annotations

from pathlib import Path

WORDS = ("the a an is was not very good bad great terrible food service movie film it this that and but "
         "with of to in on for paraphrase same different who where what when alice bob paris london acme "
         "works lives city company person question answer yes no negative positive").split()
# the label words of the demo tasks' text_to_text (yes, no, negative, positive) are in the vocab: T5 can produce them
CHARS = "的是不了在人有我他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切餐厅很吃这家北京上海华为公司张伟在工作"


def build_tokenizer(path: Path):
    """A BertTokenizerFast with a word + character vocab (the way Chinese test models are built here)."""
    from transformers import BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(WORDS)) + sorted(set(CHARS))
    vocab += [c for c in ".,!?;:'\"()-0123456789，。？！：；" if c not in vocab]
    vocab = list(dict.fromkeys(vocab))
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # transformers 5 ignores vocab_file=: the vocab is passed as vocab=
    tok = BertTokenizerFast(vocab=str(path / "vocab.txt"), do_lower_case=True, tokenize_chinese_chars=True)
    assert len(tok) == len(vocab), (len(tok), len(vocab))
    tok.save_pretrained(path)
    return tok


TINY = {
    "bert": ("BertModel", "BertConfig", dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                             intermediate_size=64, max_position_embeddings=256)),
    "ernie": ("ErnieModel", "ErnieConfig", dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                                intermediate_size=64, max_position_embeddings=256)),
    "albert": ("AlbertModel", "AlbertConfig", dict(embedding_size=16, hidden_size=32, num_hidden_layers=2,
                                                   num_attention_heads=2, intermediate_size=64,
                                                   max_position_embeddings=256)),
    "t5": ("T5ForConditionalGeneration", "T5Config", dict(d_model=32, d_ff=64, d_kv=16, num_layers=2,
                                                          num_decoder_layers=2, num_heads=2)),
}


def build_model(family: str, path: Path, seed: int = 0) -> Path:
    """Save a tiny randomly initialised model of a family (with its tokenizer) to path."""
    return save_tiny(family, build_tokenizer(path), path, seed)


def save_tiny(family: str, tok, path: Path, seed: int = 0) -> Path:
    """A tiny randomly initialised model of a family for this tokenizer, saved with save_pretrained."""
    import torch
    import transformers

    model_cls, config_cls, kwargs = TINY[family]
    extra = {"pad_token_id": tok.pad_token_id}
    if family == "t5":
        extra.update(eos_token_id=tok.sep_token_id, decoder_start_token_id=tok.pad_token_id)
    config = getattr(transformers, config_cls)(vocab_size=len(tok), **kwargs, **extra)
    torch.manual_seed(seed)
    getattr(transformers, model_cls)(config).save_pretrained(path)
    return path


def models_yaml(root: Path, families=("bert", "ernie", "albert", "t5")) -> Path:
    """Build tiny models under root and a models file that loads them from their local folders."""
    lines = ["models:"]
    for fam in families:
        d = build_model(fam, root / f"tiny-{fam}")
        lines += [f"  - name: tiny-{fam}", f"    id: {d}", f"    family: {fam}"]
        if fam == "t5":
            lines += ["    train: {learning_rate: 1.0e-3}"]
    out = root / "models.yaml"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def build_char_model(family: str, path: Path, texts: list[str], seed: int = 0) -> Path:
    """A tiny model whose vocab is trained on `texts` with `tokenizers` (CJK text becomes one token per
    character): how Chinese test models are built here, with no Chinese pretrained weights offline."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    trainer = BertWordPieceTokenizer(lowercase=True, handle_chinese_chars=True)
    trainer.train_from_iterator(texts, vocab_size=8000, min_frequency=1, limit_alphabet=8000,
                                special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False)
    trainer.save_model(str(path))
    tok = BertTokenizerFast(vocab=str(path / "vocab.txt"), do_lower_case=True, tokenize_chinese_chars=True)
    tok.save_pretrained(path)
    return save_tiny(family, tok, path, seed)
